// The kernel state the overlay needs on this node, computed from the leases alone (pure). reconcile.ts
// compares it with what the kernel holds and applies the difference.
//
// Per node, in the manner of flannel's VXLAN backend:
//   device     weft.<vni>: VXLAN, learning off, on the underlay interface, local = the interface's address,
//              the configured UDP port and MTU, the node's persisted VTEP MAC.
//   addresses  the node's subnet's network address as /32 (and /128 for the IPv6 subnet) on the device. The
//              network address, not the first: the first (x.x.x.1) is the containers' gateway on the node's
//              bridge (subnet.env says so), and the network address is otherwise unused, so the whole subnet
//              stays for containers. Traffic the node itself sends into the overlay leaves with this source.
//   per peer   route   <peer subnet> via <peer network address> dev weft.<vni> onlink
//              neigh   <peer network address> lladdr <peer VTEP MAC> permanent
//              fdb     <peer VTEP MAC> dst <peer underlay address> self permanent
//   With directRouting, a peer whose underlay address is on one of the underlay interface's own prefixes
//   (the same L2 segment) is routed plainly instead: <peer subnet> via <peer underlay address> dev <underlay>,
//   for the family of the underlay (an IPv4 route cannot have an IPv6 gateway here); its other family still
//   goes over VXLAN.
// A lease that cannot be programmed (incomplete reservation, wrong family, a MAC or address another lease
// already uses, a subnet outside the network) is left out with the reason, never half-programmed.
import { formatIp, ipEquals, tryParseIp, type IpAddress, type IpFamily } from '../../lib/ip/address.ts';
import { formatCidr, maskedNet, netContains, tryParseCidr, type IpNet } from '../../lib/ip/cidr.ts';
import type { LeaseSpec } from '../lease/lease.ts';
import { overlayMtu, type NetworkConfig } from '../network-config.ts';
import type { Underlay } from '../underlay.ts';

/** What the kernel says about the underlay interface now. */
export interface UnderlayState extends Underlay {
  /** The interface's own addresses (with prefix lengths): the VTEP's local address and the L2 segment. */
  readonly addresses: readonly IpNet[];
}

export interface DesiredDevice {
  readonly name: string;
  readonly vni: number;
  readonly port: number;
  /** Source address of encapsulated packets: an address of the underlay interface. */
  readonly local: IpAddress;
  readonly underlayIndex: number;
  readonly mtu: number;
  readonly mac: string;
}

/** Which device a route leaves by. */
export type RouteVia = 'vxlan' | 'underlay';

export interface DesiredRoute {
  readonly dst: IpNet;
  readonly gw: IpAddress;
  readonly via: RouteVia;
  /** The gateway is on no prefix of the device: the VXLAN routes say so. */
  readonly onlink: boolean;
}

export interface DesiredNeighbour {
  readonly ip: IpAddress;
  readonly mac: string;
}

export interface DesiredFdb {
  readonly mac: string;
  readonly dst: IpAddress;
}

/** A peer as the probe and the status output see it. */
export interface Peer {
  readonly nodeName: string;
  readonly subnet: IpNet;
  readonly ipv6Subnet?: IpNet;
  readonly publicIp: IpAddress;
  readonly vtepMac: string;
  /** The peer's device addresses (IPv4 first): what the kernel path is probed at. */
  readonly gateways: readonly IpAddress[];
  /** Reached by a plain route over the underlay for the underlay's family (directRouting). */
  readonly direct: boolean;
}

export interface SkippedLease {
  readonly nodeName: string;
  readonly subnet: string;
  readonly reason: string;
}

export interface DesiredDataPath {
  readonly device: DesiredDevice;
  readonly addresses: readonly IpNet[];
  readonly routes: readonly DesiredRoute[];
  readonly neighbours: readonly DesiredNeighbour[];
  readonly fdb: readonly DesiredFdb[];
  readonly peers: readonly Peer[];
  readonly skipped: readonly SkippedLease[];
  /** The overlay networks (IPv4, then IPv6): masqueraded when leaving, forwarded always. */
  readonly networks: readonly IpNet[];
  /** This node's device addresses without prefix (IPv4 first). */
  readonly gateways: readonly IpAddress[];
}

export interface DataPathInput {
  readonly config: NetworkConfig;
  /** This node's lease. */
  readonly own: LeaseSpec;
  /** Every lease in the store, this node's included. */
  readonly leases: readonly LeaseSpec[];
  readonly underlay: UnderlayState;
}

export function deviceName(vni: number): string {
  return `weft.${vni}`;
}

/** The device address of a subnet: its network address as a host prefix. */
export function gatewayOf(subnet: IpNet): IpNet {
  const net = maskedNet(subnet);
  return { address: net.address, prefix: net.address.family === 4 ? 32 : 128 };
}

/** The underlay interface's address to encapsulate from: the announced one if it is the interface's own. */
function localAddress(underlay: UnderlayState): IpAddress {
  const family = underlay.address.family;
  if (underlay.addresses.some((a) => ipEquals(a.address, underlay.address))) return underlay.address;
  // A configured public address (a NAT in front of the node) is not on the interface: use the interface's.
  const own = underlay.addresses.find((a) => a.address.family === family);
  if (!own) throw new TypeError(`underlay ${underlay.name} has no IPv${family} address to send VXLAN from`);
  return own.address;
}

interface ParsedLease {
  readonly lease: LeaseSpec;
  readonly subnet: IpNet;
  readonly ipv6Subnet?: IpNet;
  readonly publicIp?: IpAddress;
}

/**
 * Leases parsed before, by object: the lease set hands out the same objects until a lease changes, so a
 * change at 5,000 leases parses one, not all of them.
 */
const parsedLeases = new WeakMap<LeaseSpec, ParsedLease | string>();

function parseLease(lease: LeaseSpec): ParsedLease | string {
  let parsed = parsedLeases.get(lease);
  if (parsed === undefined) {
    parsed = parseLeaseFields(lease);
    parsedLeases.set(lease, parsed);
  }
  return parsed;
}

function parseLeaseFields(lease: LeaseSpec): ParsedLease | string {
  const subnet = tryParseCidr(lease.subnet);
  if (!subnet || subnet.address.family !== 4) return `subnet ${JSON.stringify(lease.subnet)} is not an IPv4 CIDR`;
  const v6 = lease.ipv6Subnet === undefined ? undefined : tryParseCidr(lease.ipv6Subnet);
  if (lease.ipv6Subnet !== undefined && (!v6 || v6.address.family !== 6)) return `ipv6Subnet ${JSON.stringify(lease.ipv6Subnet)} is not an IPv6 CIDR`;
  const publicIp = lease.publicIp === '' ? undefined : tryParseIp(lease.publicIp);
  if (lease.publicIp !== '' && !publicIp) return `publicIp ${JSON.stringify(lease.publicIp)} is not an IP address`;
  return { lease, subnet: maskedNet(subnet), ...(v6 && { ipv6Subnet: maskedNet(v6) }), ...(publicIp && { publicIp }) };
}

/** The subnets of a lease this node can route: IPv6 only when both ends and the config have it. */
function routedSubnets(config: NetworkConfig, own: ParsedLease, peer: ParsedLease): IpNet[] {
  const subnets = [peer.subnet];
  if (config.ipv6 && own.ipv6Subnet && peer.ipv6Subnet) subnets.push(peer.ipv6Subnet);
  return subnets;
}

function problemWithPeer(config: NetworkConfig, own: ParsedLease, peer: ParsedLease, underlay: UnderlayState, seen: Seen): string | undefined {
  if (!netContains(config.network, peer.subnet.address) || peer.subnet.prefix !== config.subnetLen) {
    return `subnet ${formatCidr(peer.subnet)} is not a /${config.subnetLen} of ${formatCidr(config.network)}`;
  }
  if (config.ipv6 && peer.ipv6Subnet && !netContains(config.ipv6.network, peer.ipv6Subnet.address)) {
    return `ipv6Subnet ${formatCidr(peer.ipv6Subnet)} is outside ${formatCidr(config.ipv6.network)}`;
  }
  if (!peer.publicIp || peer.lease.vtepMac === '') return 'the lease has no underlay address or VTEP MAC yet (a reservation not taken up)';
  if (peer.publicIp.family !== underlay.address.family) {
    return `underlay address ${formatIp(peer.publicIp)} is not IPv${underlay.address.family} like this node's`;
  }
  if (own.publicIp && ipEquals(peer.publicIp, own.publicIp)) return `it claims this node's underlay address ${formatIp(peer.publicIp)}`;
  if (peer.lease.vtepMac === own.lease.vtepMac) return `it claims this node's VTEP MAC ${own.lease.vtepMac}`;
  const macHolder = seen.macs.get(peer.lease.vtepMac);
  if (macHolder) return `VTEP MAC ${peer.lease.vtepMac} is already node ${macHolder}'s`;
  const ipHolder = seen.publicIps.get(peer.publicIp.value);
  if (ipHolder) return `underlay address ${formatIp(peer.publicIp)} is already node ${ipHolder}'s`;
  return undefined;
}

interface Seen {
  readonly macs: Map<string, string>;
  /** By address value: every peer's address has the underlay's family. */
  readonly publicIps: Map<bigint, string>;
}

function onSegment(underlay: UnderlayState, ip: IpAddress): boolean {
  return underlay.addresses.some((a) => netContains(a, ip));
}

export function desiredDataPath(input: DataPathInput): DesiredDataPath {
  const { config, underlay } = input;
  const own = parseLease(input.own);
  if (typeof own === 'string') throw new TypeError(`this node's lease: ${own}`);
  const ownSubnets = [own.subnet, ...(config.ipv6 && own.ipv6Subnet ? [own.ipv6Subnet] : [])];
  const device: DesiredDevice = {
    name: deviceName(config.vni),
    vni: config.vni,
    port: config.port,
    local: localAddress(underlay),
    underlayIndex: underlay.index,
    mtu: overlayMtu(config, { mtu: underlay.mtu, family: underlay.address.family }),
    mac: input.own.vtepMac,
  };
  const routes: DesiredRoute[] = [];
  const neighbours: DesiredNeighbour[] = [];
  const fdb: DesiredFdb[] = [];
  const peers: Peer[] = [];
  const skipped: SkippedLease[] = [];
  const seen: Seen = { macs: new Map(), publicIps: new Map() };
  for (const lease of input.leases) {
    if (lease.subnet === input.own.subnet) continue;
    const peer = parseLease(lease);
    const problem = typeof peer === 'string' ? peer : problemWithPeer(config, own, peer, underlay, seen);
    if (typeof peer === 'string' || problem !== undefined || !peer.publicIp) {
      skipped.push({ nodeName: lease.nodeName, subnet: lease.subnet, reason: problem ?? 'no underlay address' });
      continue;
    }
    const publicIp = peer.publicIp;
    seen.macs.set(lease.vtepMac, lease.nodeName);
    seen.publicIps.set(publicIp.value, lease.nodeName);
    const direct = config.directRouting && onSegment(underlay, publicIp);
    const subnets = routedSubnets(config, own, peer);
    let overVxlan = false;
    for (const subnet of subnets) {
      const family: IpFamily = subnet.address.family;
      if (direct && family === publicIp.family) {
        routes.push({ dst: subnet, gw: publicIp, via: 'underlay', onlink: false });
        continue;
      }
      const gw = gatewayOf(subnet).address;
      routes.push({ dst: subnet, gw, via: 'vxlan', onlink: true });
      neighbours.push({ ip: gw, mac: lease.vtepMac });
      overVxlan = true;
    }
    if (overVxlan) fdb.push({ mac: lease.vtepMac, dst: publicIp });
    peers.push({
      nodeName: lease.nodeName,
      subnet: peer.subnet,
      ...(subnets[1] && { ipv6Subnet: subnets[1] }),
      publicIp,
      vtepMac: lease.vtepMac,
      gateways: subnets.map((s) => gatewayOf(s).address),
      direct,
    });
  }
  return {
    device,
    addresses: ownSubnets.map(gatewayOf),
    routes,
    neighbours,
    fdb,
    peers,
    skipped,
    networks: [config.network, ...(config.ipv6 ? [config.ipv6.network] : [])],
    gateways: ownSubnets.map((s) => gatewayOf(s).address),
  };
}
