// What the IPAM result becomes on a bridge network, as the reference computes it: every address belongs to
// the container interface; with isGateway an address without a gateway gets its subnet's first address;
// with isDefaultGateway each family gets a default route via its gateway unless IPAM already gave one; and
// the gateways (with the container address's prefix) are what the bridge itself carries.
import type { IpConfig, Result, Route } from '../../lib/cni/types.ts';
import { addToIp, formatIp, parseIp, type IpFamily } from '../../lib/ip/address.ts';
import { formatCidr, networkAddress, parseCidr, type IpNet } from '../../lib/ip/cidr.ts';

/** Position of the container interface in the result's `interfaces` (bridge, host veth, container). */
export const CONTAINER_INTERFACE_INDEX = 2;

export interface GatewayPlan {
  ips: IpConfig[];
  routes: Route[];
  /** Addresses for the bridge: each gateway with its subnet's prefix, IPv4 ones first. */
  bridgeAddresses: IpNet[];
}

function defaultDst(family: IpFamily): string {
  return family === 4 ? '0.0.0.0/0' : '::/0';
}

/** A default route of the family, with or without a gateway (without one, it goes via the address's gateway). */
function isDefaultRoute(route: Route, family: IpFamily): boolean {
  const dst = parseCidr(route.dst);
  return dst.prefix === 0 && dst.address.family === family;
}

/** The first address after the subnet's network address. */
export function subnetGateway(address: IpNet): string {
  const next = addToIp(networkAddress(address), 1n);
  // Only a /0-sized overflow could leave the family's space; IPAM never hands out such an address.
  if (!next) throw new RangeError(`no gateway address after the network of ${formatCidr(address)}`);
  return formatIp(next);
}

export function planGateways(ipam: Result, options: { isGateway: boolean; isDefaultGateway: boolean }): GatewayPlan {
  const routes = [...(ipam.routes ?? [])];
  const byFamily: Record<IpFamily, IpNet[]> = { 4: [], 6: [] };
  const ips = (ipam.ips ?? []).map((ipc): IpConfig => {
    const address = parseCidr(ipc.address);
    const family = address.address.family;
    const gateway = ipc.gateway ?? (options.isGateway ? subnetGateway(address) : undefined);
    // isDefaultGateway implies isGateway, so the gateway is known here.
    if (options.isDefaultGateway && gateway !== undefined && !routes.some((r) => isDefaultRoute(r, family))) {
      routes.push({ dst: defaultDst(family), gw: gateway });
    }
    if (options.isGateway && gateway !== undefined) byFamily[family].push({ address: parseIp(gateway), prefix: address.prefix });
    const out: IpConfig = { interface: CONTAINER_INTERFACE_INDEX, address: ipc.address };
    if (gateway !== undefined) out.gateway = gateway;
    return out;
  });
  return { ips, routes, bridgeAddresses: [...byFamily[4], ...byFamily[6]] };
}
