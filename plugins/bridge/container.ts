// The container end of the veth: its addresses, routes and per-interface settings, applied inside the
// container's namespace as the reference's ipam.ConfigureIface does, plus what the bridge plugin adds
// around it (DAD, ARP notification).
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { IpConfig, Route } from '../../lib/cni/types.ts';
import { parseIp, type IpAddress, type IpFamily } from '../../lib/ip/address.ts';
import { formatCidr, parseCidr, type IpNet } from '../../lib/ip/cidr.ts';
import { sysctlGet, sysctlSet, type Netlink } from '../../lib/netlink/index.ts';
import { scopeName } from '../../lib/netlink/rtnetlink.ts';
import { setSysctlIfPresent } from './link-sysctls.ts';

export interface ContainerLink {
  readonly index: number;
  readonly name: string;
}

// How long duplicate address detection may take, and how often to look (the reference's figures).
const DAD_TIMEOUT_MS = 5000;
const DAD_POLL_MS = 50;

/**
 * DAD as configured: off (the addresses are usable at once, as the reference defaults to) or on, with
 * enhanced DAD so a looped-back probe is not taken for a duplicate. ARP notification announces the
 * address when the link comes up, so neighbours drop a stale MAC for it.
 */
function applyInterfaceSysctls(netns: string, ifName: string, enableDad: boolean): void {
  const ipv6 = `net/ipv6/conf/${ifName}`;
  if (enableDad) {
    setSysctlIfPresent(netns, `${ipv6}/enhanced_dad`, 1);
    setSysctlIfPresent(netns, `${ipv6}/accept_dad`, 1);
  } else {
    setSysctlIfPresent(netns, `${ipv6}/accept_dad`, 0);
  }
  setSysctlIfPresent(netns, `net/ipv4/conf/${ifName}/arp_notify`, 1);
}

/** IPv6 on (for the loopback too) and addresses kept while the link is down, before any IPv6 address. */
function prepareIpv6(netns: string, ifName: string): void {
  for (const name of ['lo', ifName]) {
    const key = `net/ipv6/conf/${name}/disable_ipv6`;
    if (sysctlGet(netns, key).trim() !== '0') sysctlSet(netns, key, 0);
  }
  sysctlSet(netns, `net/ipv6/conf/${ifName}/keep_addr_on_down`, 1);
}

/** Waits until no IPv6 address of the link is tentative; a failed DAD is an error. */
async function settleAddresses(nl: Netlink, link: ContainerLink): Promise<void> {
  const deadline = Date.now() + DAD_TIMEOUT_MS;
  for (;;) {
    const addresses = nl.addrList({ link: link.index, family: 6 });
    const failed = addresses.find((a) => a.dadFailed);
    if (failed) {
      throw new CniError(ErrorCode.AddressUnavailable, `duplicate address detection failed for ${formatCidr(failed.address)} on ${link.name}`, 'another host on the link uses that address');
    }
    if (!addresses.some((a) => a.tentative)) return;
    if (Date.now() >= deadline) {
      throw new CniError(ErrorCode.KernelFailure, `link ${link.name} still has tentative addresses after ${DAD_TIMEOUT_MS / 1000} seconds`);
    }
    await new Promise((wake) => setTimeout(wake, DAD_POLL_MS));
  }
}

function firstGateways(ips: readonly IpConfig[]): Partial<Record<IpFamily, IpAddress>> {
  const out: Partial<Record<IpFamily, IpAddress>> = {};
  for (const ip of ips) {
    if (ip.gateway === undefined) continue;
    const gateway = parseIp(ip.gateway);
    out[gateway.family] ??= gateway;
  }
  return out;
}

function addRoute(nl: Netlink, link: ContainerLink, route: Route, gateways: Partial<Record<IpFamily, IpAddress>>): void {
  const dst = parseCidr(route.dst);
  // A route without a gateway goes via the family's gateway, when there is one (the reference's rule).
  const gw = route.gw !== undefined ? parseIp(route.gw) : gateways[dst.address.family];
  nl.routeAdd({
    dst,
    link: link.index,
    ...(gw && { gw }),
    ...(route.priority !== undefined && { metric: route.priority }),
    ...(route.table !== undefined && { table: route.table }),
    ...(route.scope !== undefined && { scope: scopeName(route.scope) }),
    ...(route.mtu !== undefined && { mtu: route.mtu }),
    ...(route.advmss !== undefined && { advmss: route.advmss }),
  });
}

/** Configures the container interface with the addresses and routes of the result, and brings it up. */
export async function configureContainer(nl: Netlink, netns: string, link: ContainerLink, ips: readonly IpConfig[], routes: readonly Route[], enableDad: boolean): Promise<void> {
  applyInterfaceSysctls(netns, link.name, enableDad);
  const addresses: IpNet[] = ips.map((ip) => parseCidr(ip.address));
  const hasIpv6 = addresses.some((a) => a.address.family === 6);
  if (hasIpv6) prepareIpv6(netns, link.name);
  for (const address of addresses) {
    const v4 = address.address.family === 4;
    nl.addrAdd({
      link: link.index,
      address,
      ...(v4 && address.prefix < 31 && { broadcast: 'auto' as const }),
      ...(!v4 && !enableDad && { nodad: true }),
    });
  }
  nl.linkSetUp(link.index);
  if (hasIpv6 && enableDad) await settleAddresses(nl, link);
  const gateways = firstGateways(ips);
  for (const route of routes) addRoute(nl, link, route, gateways);
}
