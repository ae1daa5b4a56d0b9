// The difference between the desired data path and what the kernel holds, as the changes that close it
// (pure). What weft owns, and so may change or remove:
//   the device named weft.<vni>; every address on it (the IPv6 link-local one aside);
//   routes in the main table carrying weft's rtnetlink protocol number (below), on any device;
//   permanent neighbour entries on the device; unicast forwarding entries with a remote on the device.
// Nothing else is read as weft's, so nothing else is ever deleted.
import { formatIp, ipEquals, type IpAddress } from '../../lib/ip/address.ts';
import { formatCidr, maskedNet, netContains, parseCidr, type IpNet } from '../../lib/ip/cidr.ts';
import type { Address, FdbEntry, FdbSpec, Link, LinkChange, NeighbourKey, NeighbourSpec, NewVxlan, Route, RouteSpec } from '../../lib/netlink/index.ts';
import { zeroMac, type AddressSpec, type Neighbour } from '../../lib/netlink/index.ts';
import type { DesiredDataPath, DesiredDevice, DesiredRoute } from './desired-state.ts';

/**
 * The rtnetlink protocol (RTPROT_*) weft's routes carry, so that weft recognises its own routes after a
 * restart and never touches anyone else's. 87 ('W') is free in iproute2's rt_protos and the kernel's list.
 */
export const weftRouteProtocol = 87;

export type DevicePlan =
  | { readonly action: 'keep'; readonly index: number; readonly change?: LinkChange }
  | { readonly action: 'create'; readonly spec: NewVxlan }
  | { readonly action: 'recreate'; readonly index: number; readonly reason: string; readonly spec: NewVxlan };

function vxlanSpec(d: DesiredDevice): NewVxlan {
  return {
    kind: 'vxlan', name: d.name, vni: d.vni, port: d.port, local: d.local, underlay: d.underlayIndex,
    learning: false, mtu: d.mtu, mac: d.mac, up: true,
  };
}

/** Why the existing link cannot be brought to the desired device by changing it, if it cannot. */
function mismatch(d: DesiredDevice, link: Link): string | undefined {
  if (link.kind !== 'vxlan') return `${link.name} is a ${link.kind === 'device' ? (link.infoKind ?? 'device') : link.kind}, not VXLAN`;
  if (link.vni !== d.vni) return `VNI ${link.vni}, wanted ${d.vni}`;
  if (link.port !== d.port) return `port ${link.port}, wanted ${d.port}`;
  if (!link.local || !ipEquals(link.local, d.local)) return `local ${link.local ? formatIp(link.local) : 'unset'}, wanted ${formatIp(d.local)}`;
  if (link.underlay !== d.underlayIndex) return `underlay #${link.underlay ?? 'unset'}, wanted #${d.underlayIndex}`;
  if (link.learning) return 'learning is on';
  if (link.group) return `it has a remote/group ${formatIp(link.group)}`;
  if (link.mac !== d.mac) return `MAC ${link.mac ?? 'unset'}, wanted ${d.mac}`;
  return undefined;
}

export function planDevice(desired: DesiredDevice, current: Link | undefined): DevicePlan {
  const spec = vxlanSpec(desired);
  if (!current) return { action: 'create', spec };
  const reason = mismatch(desired, current);
  if (reason) return { action: 'recreate', index: current.index, reason, spec };
  const change: { mtu?: number; up?: boolean } = {};
  if (current.mtu !== desired.mtu) change.mtu = desired.mtu;
  if (!current.up) change.up = true;
  return Object.keys(change).length === 0 ? { action: 'keep', index: current.index } : { action: 'keep', index: current.index, change };
}

/** What the kernel holds of weft's, as read by reconcile.ts. */
export interface ObservedEntries {
  /** Addresses on the device. */
  readonly addresses: readonly Address[];
  /** Main-table routes with weft's protocol. */
  readonly routes: readonly Route[];
  /** Neighbour entries on the device. */
  readonly neighbours: readonly Neighbour[];
  /** Forwarding entries on the device. */
  readonly fdb: readonly FdbEntry[];
}

export interface LinkIndexes {
  readonly device: number;
  readonly underlay: number;
}

export type DataPathStep =
  | { readonly op: 'addrAdd' | 'addrDel'; readonly spec: AddressSpec }
  | { readonly op: 'routeReplace' | 'routeDel'; readonly spec: RouteSpec }
  | { readonly op: 'neighSet'; readonly spec: NeighbourSpec }
  | { readonly op: 'neighDel'; readonly spec: NeighbourKey }
  | { readonly op: 'fdbSet' | 'fdbDel'; readonly spec: FdbSpec };

const linkLocal = parseCidr('fe80::/10');

function routeSpec(route: DesiredRoute, links: LinkIndexes): RouteSpec {
  return {
    dst: route.dst,
    gw: route.gw,
    link: route.via === 'vxlan' ? links.device : links.underlay,
    ...(route.onlink && { onlink: true }),
    protocol: weftRouteProtocol,
  };
}

/**
 * Whether a route has the metric the kernel gives one added without any (weft's are): 0 for IPv4, 1024 for
 * IPv6. Compared with 0 alone, every IPv6 route looked wrong and was replaced on every run.
 */
function hasDefaultMetric(route: Route): boolean {
  return (route.metric ?? 0) === (route.dst.address.family === 6 ? 1024 : 0);
}

function sameRoute(want: RouteSpec, have: Route): boolean {
  return have.type === 'unicast' && hasDefaultMetric(have) && have.link === want.link && have.onlink === (want.onlink ?? false) &&
    have.gw !== undefined && want.gw !== undefined && ipEquals(have.gw, want.gw);
}

const netKey = (net: IpNet): string => formatCidr(maskedNet(net));
// Map keys for the diff: formatting a thousand addresses as text on every run costs milliseconds.
const ipKey = (ip: IpAddress): string => `${ip.family}:${ip.value}`;
const prefixKey = (net: IpNet): string => `${ipKey(maskedNet(net).address)}/${net.prefix}`;

/** One kind of entry's steps: what goes, and what is added or rewritten. */
interface EntrySteps {
  readonly remove: DataPathStep[];
  readonly add: DataPathStep[];
}

/**
 * Steps in an order that never leaves a route without its neighbour and forwarding entry: addresses, then
 * every removal, then forwarding entries, neighbours and routes.
 */
export function planEntries(desired: DesiredDataPath, observed: ObservedEntries, links: LinkIndexes): DataPathStep[] {
  const addresses = planAddresses(desired, observed, links.device);
  const routes = planRoutes(desired, observed, links);
  const neighbours = planNeighbours(desired, observed, links.device);
  const fdb = planFdb(desired, observed, links.device);
  return [
    ...addresses.remove, ...addresses.add,
    ...routes.remove, ...neighbours.remove, ...fdb.remove,
    ...fdb.add, ...neighbours.add, ...routes.add,
  ];
}

/** weft's addresses on the device (link-local ones are the kernel's). */
function planAddresses(desired: DesiredDataPath, observed: ObservedEntries, device: number): EntrySteps {
  const remove: DataPathStep[] = [];
  const wantedAddresses = new Map(desired.addresses.map((a) => [prefixKey(a), a]));
  const haveAddresses = observed.addresses.filter((a) => !netContains(linkLocal, a.address.address));
  for (const a of haveAddresses) {
    if (!wantedAddresses.delete(prefixKey(a.address))) remove.push({ op: 'addrDel', spec: { link: device, address: a.address } });
  }
  // nodad: the probe binds to the IPv6 address at once.
  const add = [...wantedAddresses.values()].map((a): DataPathStep => ({ op: 'addrAdd', spec: { link: device, address: a, ...(a.address.family === 6 && { nodad: true }) } }));
  return { remove, add };
}

/**
 * Routes: one correct route per wanted destination stays (sameRoute); a wanted route missing or wrong is
 * written with a replace. The replace overwrites one wrong route to its destination with the default
 * metric, so that one is left to it; every other route of weft's that is not correct goes.
 */
function planRoutes(desired: DesiredDataPath, observed: ObservedEntries, links: LinkIndexes): EntrySteps {
  const remove: DataPathStep[] = [];
  const wantedRoutes = new Map(desired.routes.map((r) => [prefixKey(r.dst), routeSpec(r, links)]));
  const routesOk = new Set<string>();
  const correct = new Set<Route>();
  for (const route of observed.routes) {
    const key = prefixKey(route.dst);
    const want = wantedRoutes.get(key);
    if (want && !routesOk.has(key) && sameRoute(want, route)) {
      routesOk.add(key);
      correct.add(route);
    }
  }
  const replaced = new Set<string>();
  for (const route of observed.routes) {
    const key = prefixKey(route.dst);
    if (correct.has(route)) continue;
    if (wantedRoutes.has(key) && !routesOk.has(key) && hasDefaultMetric(route) && !replaced.has(key)) {
      replaced.add(key);
      continue;
    }
    remove.push({
      op: 'routeDel',
      spec: {
        dst: route.dst, protocol: weftRouteProtocol, table: route.table,
        ...(route.gw && { gw: route.gw }),
        ...(route.metric !== undefined && { metric: route.metric }),
        ...(route.link !== undefined && { link: route.link }),
      },
    });
  }
  const add = [...wantedRoutes].filter(([key]) => !routesOk.has(key)).map(([, spec]): DataPathStep => ({ op: 'routeReplace', spec }));
  return { remove, add };
}

/** Permanent neighbour entries on the device: weft's are the only permanent ones there. */
function planNeighbours(desired: DesiredDataPath, observed: ObservedEntries, device: number): EntrySteps {
  const remove: DataPathStep[] = [];
  const wantedNeighbours = new Map(desired.neighbours.map((n) => [ipKey(n.ip), n]));
  const neighboursOk = new Set<string>();
  for (const n of observed.neighbours) {
    const key = ipKey(n.ip);
    const want = wantedNeighbours.get(key);
    if (want && n.state === 'permanent' && n.mac === want.mac) neighboursOk.add(key);
    else if (!want && n.state === 'permanent') remove.push({ op: 'neighDel', spec: { link: device, ip: n.ip } });
  }
  const add = desired.neighbours.filter((n) => !neighboursOk.has(ipKey(n.ip)))
    .map((n): DataPathStep => ({ op: 'neighSet', spec: { link: device, ip: n.ip, mac: n.mac } }));
  return { remove, add };
}

/** The device's own forwarding entries to a remote VTEP (the all-zero MAC is the kernel's default). */
function planFdb(desired: DesiredDataPath, observed: ObservedEntries, device: number): EntrySteps {
  const remove: DataPathStep[] = [];
  const wantedFdb = new Map(desired.fdb.map((f) => [f.mac, f]));
  const fdbOk = new Set<string>();
  for (const e of observed.fdb) {
    if (!e.self || !e.dst || e.mac === zeroMac) continue;
    const want = wantedFdb.get(e.mac);
    if (want && e.state === 'permanent' && ipEquals(e.dst, want.dst) && e.port === undefined && e.vni === undefined) fdbOk.add(e.mac);
    else if (!want) remove.push({ op: 'fdbDel', spec: { link: device, mac: e.mac, dst: e.dst } });
  }
  const add = desired.fdb.filter((f) => !fdbOk.has(f.mac)).map((f): DataPathStep => ({ op: 'fdbSet', spec: { link: device, mac: f.mac, dst: f.dst } }));
  return { remove, add };
}

function describeTarget(step: DataPathStep): string {
  switch (step.op) {
    case 'addrAdd':
    case 'addrDel':
      return formatCidr(step.spec.address);
    case 'routeReplace':
    case 'routeDel':
      return `${netKey(step.spec.dst)}${step.spec.gw ? ` via ${formatIp(step.spec.gw)}` : ''}`;
    case 'neighSet':
      return `${formatIp(step.spec.ip)} lladdr ${step.spec.mac}`;
    case 'neighDel':
      return formatIp(step.spec.ip);
    case 'fdbSet':
    case 'fdbDel':
      return `${step.spec.mac}${step.spec.dst ? ` dst ${formatIp(step.spec.dst as IpAddress)}` : ''}`;
  }
}

/** One line for logs: "routeReplace 10.244.2.0/24 via 10.244.2.0". */
export function describeStep(step: DataPathStep): string {
  return `${step.op} ${describeTarget(step)}`;
}
