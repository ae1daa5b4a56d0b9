// The host's resolvers, which weftd forwards every name outside its zone to: the nameservers of the host's
// resolv.conf (read with a bound: it is a file the config names), in order, at most three as the C
// library takes, leaving out the addresses of the overlay (weftd answers on its gateways: a host whose
// resolv.conf named one would send weftd its own questions, or two nodes each other's) and the unspecified
// address.
import { formatIp, tryParseIp, type IpAddress } from '../../lib/ip/address.ts';
import { parseResolvConf } from '../../lib/cni/resolv-conf.ts';

export interface Upstream {
  readonly address: string;
  readonly port: number;
}

/** A resolv.conf is a few lines: anything past this is not one (lib/files/bounded-read.ts reads it). */
export const maxResolvConfBytes = 64 * 1024;
const maxNameservers = 3;

/** The upstreams `text` names, without those `excluded` says are weftd's own. */
export function upstreamsFrom(text: string, excluded: (address: IpAddress) => boolean): Upstream[] {
  const upstreams: Upstream[] = [];
  for (const name of parseResolvConf(text).nameservers ?? []) {
    // A link-local server with its zone ("fe80::1%eth0") cannot be told apart from another one's here.
    const ip = tryParseIp(name);
    if (!ip || ip.value === 0n || excluded(ip)) continue;
    const address = formatIp(ip);
    if (upstreams.some((u) => u.address === address)) continue;
    upstreams.push({ address, port: 53 });
    if (upstreams.length === maxNameservers) break;
  }
  return upstreams;
}
