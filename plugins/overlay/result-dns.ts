// The result's `dns` when weftd answers DNS on this node (its subnet file names the zone): the subnet
// gateways as nameservers, where weftd listens, and the zone first in the search list, so that a runtime
// writing the container's resolv.conf from the result (Podman's CNI backend does) makes `<service>` and
// `<service>.<zone>` resolve. weftd forwards every other name to the host's resolvers, so the host's
// nameservers are replaced, not kept beside it.
import { formatIp } from '../../lib/ip/address.ts';
import type { Result } from '../../lib/cni/types.ts';
import type { SubnetEnv } from '../../lib/weftd-api/subnet-env.ts';

export function withWeftDns(result: Result, lease: SubnetEnv): Result {
  if (lease.dnsDomain === undefined) return result;
  const gateways = [lease.subnet, lease.ipv6Subnet].flatMap((s) => (s ? [formatIp(s.address)] : []));
  const search = [lease.dnsDomain, ...(result.dns?.search ?? []).filter((s) => s !== lease.dnsDomain)];
  return { ...result, dns: { ...result.dns, nameservers: gateways, search } };
}
