// The bridge plugin config generated from the node's lease, as flannel's CNI plugin generates its
// delegate's: the bridge is the subnet's gateway, host-local hands out the lease's subnet(s), containers
// route the whole overlay network through the bridge, and the MTU is the overlay's. weftd masquerades
// traffic leaving the overlay itself when WEFT_IPMASQ is true, so the bridge then must not (a second
// masquerade would also hide container addresses from other nodes); `delegate.ipMasq` overrides.
import type { JsonObject, JsonValue } from '../../lib/json/json-value.ts';
import { formatCidr, maskedNet } from '../../lib/ip/cidr.ts';
import type { SubnetEnv } from '../../lib/weftd-api/subnet-env.ts';
import { delegateDefaults, type OverlayConf } from './config.ts';

export function bridgeConfig(conf: OverlayConf, lease: SubnetEnv): JsonObject {
  const ranges: JsonValue[] = [[{ subnet: formatCidr(maskedNet(lease.subnet)) }]];
  const routes: JsonValue[] = [{ dst: formatCidr(maskedNet(lease.network)) }];
  if (lease.ipv6Network && lease.ipv6Subnet) {
    ranges.push([{ subnet: formatCidr(maskedNet(lease.ipv6Subnet)) }]);
    routes.push({ dst: formatCidr(maskedNet(lease.ipv6Network)) });
  }
  const ipam: JsonObject = { type: 'host-local', ranges, routes };
  if (conf.overlay.ipamDataDir) ipam.dataDir = conf.overlay.ipamDataDir;
  return {
    cniVersion: conf.cniVersion,
    name: conf.name,
    ...delegateDefaults,
    ipMasq: !lease.ipMasq,
    ...conf.overlay.delegate,
    type: 'bridge',
    mtu: lease.mtu,
    ipam,
    // What the runtime passed reaches the bridge and host-local unchanged (mac, ips capabilities).
    ...(conf.runtimeConfig ? { runtimeConfig: conf.runtimeConfig } : {}),
    ...(conf.args ? { args: conf.args } : {}),
  };
}
