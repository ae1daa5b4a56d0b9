// CHECK: the attachment the ADD result (prevResult) describes must still be in place — the bridge, the
// container interface in its namespace, the veth between them with the bridge as master, and the addresses
// and routes inside the container — as the reference's cmdCheck verifies it.
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { Interface, IpConfig, Result, Route } from '../../lib/cni/types.ts';
import { ipEquals, parseIp } from '../../lib/ip/address.ts';
import { formatCidr, maskedNet, parseCidr } from '../../lib/ip/cidr.ts';
import { ignoreNotFound, mainTable, type Link, type Netlink } from '../../lib/netlink/index.ts';
import type { BridgeSettings } from './config.ts';

/** The state differs from the ADD result: the attachment is broken and the runtime should recreate it. */
function mismatch(msg: string, details?: string): CniError {
  return new CniError(ErrorCode.KernelFailure, msg, details);
}

function macMatches(expected: Interface, link: Link): boolean {
  return expected.mac === undefined || expected.mac.toLowerCase() === link.mac;
}

function lookup(nl: Netlink, intf: Interface, where: string): Link {
  const link = ignoreNotFound(() => nl.linkByName(intf.name));
  if (!link) throw mismatch(`interface ${intf.name} not found ${where}`);
  return link;
}

function checkBridge(host: Netlink, intf: Interface | undefined, settings: BridgeSettings): Link {
  if (!intf) throw mismatch(`the result lists no bridge ${settings.bridgeName}`);
  if (intf.sandbox) throw mismatch(`interface ${intf.name} should not be in a sandbox`);
  const link = lookup(host, intf, 'in the host');
  if (link.kind !== 'bridge') throw mismatch(`interface ${intf.name} is not a bridge`, `it is a ${link.kind}`);
  if (!macMatches(intf, link)) throw mismatch(`bridge ${intf.name} has MAC ${link.mac}, the result says ${intf.mac}`);
  if (link.promisc !== settings.promiscMode) {
    throw mismatch(`bridge ${intf.name} promiscuous mode is ${link.promisc ? 'on' : 'off'}, configured ${settings.promiscMode ? 'on' : 'off'}`);
  }
  return link;
}

function checkContainerLink(container: Netlink, intf: Interface): Link {
  const link = lookup(container, intf, 'in the container');
  if (link.kind !== 'veth') throw mismatch(`container interface ${intf.name} is not a veth`, `it is a ${link.kind}`);
  if (!macMatches(intf, link)) throw mismatch(`container interface ${intf.name} has MAC ${link.mac}, the result says ${intf.mac}`);
  return link;
}

/** The host veth among the result's other interfaces: peer of the container end, port of the bridge. */
function checkHostVeth(host: Netlink, candidates: readonly Interface[], bridge: Link, container: Link): void {
  for (const intf of candidates) {
    if (intf.sandbox) continue;
    const link = lookup(host, intf, 'in the host');
    if (link.kind !== 'veth' || link.index !== container.parentIndex || link.parentIndex !== container.index) continue;
    if (link.masterIndex !== bridge.index) throw mismatch(`veth ${intf.name} is not a port of bridge ${bridge.name}`);
    if (!macMatches(intf, link)) throw mismatch(`veth ${intf.name} has MAC ${link.mac}, the result says ${intf.mac}`);
    return;
  }
  throw mismatch(`the veth between bridge ${bridge.name} and container interface ${container.name} was not found`);
}

function checkAddresses(container: Netlink, link: Link, ips: readonly IpConfig[]): void {
  const held = container.addrList({ link: link.index });
  const routes = container.routeList({ link: link.index });
  for (const ip of ips) {
    const wanted = parseCidr(ip.address);
    if (!held.some((a) => a.address.prefix === wanted.prefix && ipEquals(a.address.address, wanted.address))) {
      throw mismatch(`address ${ip.address} is missing from ${link.name}`);
    }
    const subnet = maskedNet(wanted);
    if (!routes.some((r) => r.dst.prefix === subnet.prefix && ipEquals(r.dst.address, subnet.address))) {
      throw mismatch(`the route to ${formatCidr(subnet)} for ${ip.address} is missing from ${link.name}`);
    }
  }
}

function checkRoutes(container: Netlink, routes: readonly Route[]): void {
  for (const route of routes) {
    const dst = maskedNet(parseCidr(route.dst));
    const gw = route.gw === undefined ? undefined : parseIp(route.gw);
    const found = container.routeList({ family: dst.address.family, table: route.table ?? mainTable }).some(
      (r) => r.dst.prefix === dst.prefix && ipEquals(maskedNet(r.dst).address, dst.address) && (!gw || (r.gw !== undefined && ipEquals(r.gw, gw))),
    );
    if (!found) throw mismatch(`route ${route.dst}${route.gw ? ` via ${route.gw}` : ''} is missing from the container`);
  }
}

export function checkAttachment(host: Netlink, container: Netlink, prev: Result, settings: BridgeSettings, args: { netns: string; ifName: string }): void {
  const interfaces = prev.interfaces ?? [];
  const bridgeIntf = interfaces.find((i) => i.name === settings.bridgeName);
  const containerIntf = interfaces.find((i) => i.name === args.ifName && i.sandbox === args.netns);
  const bridge = checkBridge(host, bridgeIntf, settings);
  if (!containerIntf) throw mismatch(`the result lists no interface ${args.ifName} in sandbox ${args.netns}`);
  const containerLink = checkContainerLink(container, containerIntf);
  checkHostVeth(host, interfaces.filter((i) => i !== bridgeIntf && i !== containerIntf), bridge, containerLink);
  checkAddresses(container, containerLink, prev.ips ?? []);
  checkRoutes(container, prev.routes ?? []);
}
