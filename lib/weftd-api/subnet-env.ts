// The local state file (default /run/weft/subnet.env), like flannel's subnet.env: what this node got,
// for the overlay CNI plugin, and for weftd itself after a restart (its previous subnet). Format: lines
// KEY=VALUE, blank lines and lines starting with '#' ignored, written atomically:
//
//   WEFT_NETWORK=10.244.0.0/16            the whole IPv4 overlay network
//   WEFT_SUBNET=10.244.3.1/24             this node's IPv4 subnet, as its first address (the gateway)
//   WEFT_IPV6_NETWORK=fd00:10:244::/56    (dual stack only) the IPv6 overlay network
//   WEFT_IPV6_SUBNET=fd00:10:244:3::1/64  (dual stack only) this node's IPv6 subnet, as its gateway
//   WEFT_MTU=1450                         the MTU container interfaces get
//   WEFT_IPMASQ=true                      true: weftd masquerades traffic leaving the overlay, so the
//                                         plugin must not; false: the plugin masquerades if asked to
//   WEFT_DNS_DOMAIN=weft.internal         (when weftd answers DNS) its zone; it listens on the gateways,
//                                         which the plugin gives containers as their nameservers
//
// Readers ignore keys they do not know, so later versions can add some.
import { addToIp, type IpAddress } from '../ip/address.ts';
import { formatCidr, maskedNet, tryParseCidr, type IpNet } from '../ip/cidr.ts';
import { readBoundedFile } from '../files/bounded-read.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';

export interface SubnetEnv {
  readonly network: IpNet;
  /** The node's subnet with the gateway (first) address: 10.244.3.1/24. */
  readonly subnet: IpNet;
  readonly ipv6Network?: IpNet;
  readonly ipv6Subnet?: IpNet;
  readonly mtu: number;
  readonly ipMasq: boolean;
  /** The DNS zone weftd answers for on the gateway addresses; absent when it answers no DNS. */
  readonly dnsDomain?: string;
}

/** A subnet written as its first address ("10.244.3.0/24" → 10.244.3.1/24). */
export function gatewayForm(subnet: IpNet): IpNet {
  const network = maskedNet(subnet);
  return { address: addToIp(network.address, 1n) as IpAddress, prefix: network.prefix };
}

export function formatSubnetEnv(env: SubnetEnv): string {
  const lines = [`WEFT_NETWORK=${formatCidr(env.network)}`, `WEFT_SUBNET=${formatCidr(env.subnet)}`];
  if (env.ipv6Network && env.ipv6Subnet) {
    lines.push(`WEFT_IPV6_NETWORK=${formatCidr(env.ipv6Network)}`, `WEFT_IPV6_SUBNET=${formatCidr(env.ipv6Subnet)}`);
  }
  lines.push(`WEFT_MTU=${env.mtu}`, `WEFT_IPMASQ=${env.ipMasq}`);
  if (env.dnsDomain !== undefined) lines.push(`WEFT_DNS_DOMAIN=${env.dnsDomain}`);
  return `${lines.join('\n')}\n`;
}

/** Parses the file; throws TypeError naming the line or key that is wrong. */
export function parseSubnetEnv(text: string): SubnetEnv {
  const values = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new TypeError(`line ${i + 1}: expected KEY=VALUE, got ${JSON.stringify(line)}`);
    values.set(line.slice(0, eq), line.slice(eq + 1));
  });
  const cidr = (key: string, family: 4 | 6): IpNet | undefined => {
    const value = values.get(key);
    if (value === undefined) return undefined;
    const net = tryParseCidr(value);
    if (!net || net.address.family !== family) throw new TypeError(`${key}: expected an IPv${family} CIDR, got ${JSON.stringify(value)}`);
    return net;
  };
  const required = <T>(key: string, value: T | undefined): T => {
    if (value === undefined) throw new TypeError(`${key} is missing`);
    return value;
  };
  const mtuText = required('WEFT_MTU', values.get('WEFT_MTU'));
  const mtu = Number(mtuText);
  if (!/^[0-9]+$/.test(mtuText) || mtu < 68 || mtu > 65535) throw new TypeError(`WEFT_MTU: expected 68..65535, got ${JSON.stringify(mtuText)}`);
  const masq = required('WEFT_IPMASQ', values.get('WEFT_IPMASQ'));
  if (masq !== 'true' && masq !== 'false') throw new TypeError(`WEFT_IPMASQ: expected true or false, got ${JSON.stringify(masq)}`);
  const ipv6Network = cidr('WEFT_IPV6_NETWORK', 6);
  const ipv6Subnet = cidr('WEFT_IPV6_SUBNET', 6);
  if ((ipv6Network === undefined) !== (ipv6Subnet === undefined)) throw new TypeError('WEFT_IPV6_NETWORK and WEFT_IPV6_SUBNET come together');
  const dnsDomain = values.get('WEFT_DNS_DOMAIN');
  if (dnsDomain !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,98}[a-z0-9])?$/.test(dnsDomain)) {
    throw new TypeError(`WEFT_DNS_DOMAIN: expected a lowercase DNS name, got ${JSON.stringify(dnsDomain)}`);
  }
  return {
    network: required('WEFT_NETWORK', cidr('WEFT_NETWORK', 4)),
    subnet: required('WEFT_SUBNET', cidr('WEFT_SUBNET', 4)),
    ...(ipv6Network && ipv6Subnet ? { ipv6Network, ipv6Subnet } : {}),
    mtu,
    ipMasq: masq === 'true',
    ...(dnsDomain !== undefined ? { dnsDomain } : {}),
  };
}

/** The file's content, or undefined when there is no file; UnreadableFileError for a device, a FIFO, a huge file. */
export async function readSubnetEnv(path: string): Promise<SubnetEnv | undefined> {
  let text: string;
  try {
    text = readBoundedFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return parseSubnetEnv(text);
  } catch (err) {
    throw new TypeError(`${path}: ${(err as Error).message}`, { cause: err });
  }
}

export function writeSubnetEnv(path: string, env: SubnetEnv): Promise<void> {
  return writeFileAtomic(path, formatSubnetEnv(env));
}
