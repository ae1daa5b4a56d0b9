// The host side shared by every container of a network: the bridge, its gateway addresses, the VLAN gateway
// interface and IP forwarding. Whatever an ADD made here is undone on failure only while no other port is on
// the bridge: once another container uses it, it stays, as it would have after a successful ADD.
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { IpFamily } from '../../lib/ip/address.ts';
import { formatCidr, netContains, type IpNet } from '../../lib/ip/cidr.ts';
import { ipEquals } from '../../lib/ip/address.ts';
import { formatMac, ignoreNotFound, isNetlinkError, type BridgeLink, type Link, type Netlink } from '../../lib/netlink/index.ts';
import { vlanGatewayName, type BridgeSettings } from './config.ts';
import { ignoreRouterAdvertisements, turnOn } from './link-sysctls.ts';
import { randomBytes } from '../../lib/random-bytes.ts';
import { attachPort, createVethPair } from './veth.ts';

export interface EnsuredBridge {
  readonly link: BridgeLink;
  /** This ADD created it (and may remove it again on failure). */
  readonly created: boolean;
}

/** A random locally administered unicast MAC. */
export function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return formatMac(bytes);
}

function asBridge(link: Link, name: string): BridgeLink {
  if (link.kind !== 'bridge') {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `"${name}" already exists but is not a bridge`, `it is a ${link.kind === 'device' ? link.infoKind ?? 'device' : link.kind}`);
  }
  return link;
}

/**
 * Creates the bridge or reuses the one of that name. A new bridge gets its settings (VLAN filtering, MTU)
 * and a MAC of its own, set explicitly so it stays put as ports come and go (a bridge whose MAC was never
 * set takes the lowest port MAC, and containers' ARP caches for the gateway go stale). An existing bridge
 * keeps its settings; its MAC is pinned when it gets a gateway address, as the reference does.
 */
export function ensureBridge(nl: Netlink, settings: BridgeSettings): EnsuredBridge {
  const name = settings.bridgeName;
  // Looked up first: after the first container the bridge is there, and a refused create costs a request.
  let existing = ignoreNotFound(() => nl.linkByName(name));
  if (!existing) {
    try {
      nl.linkAdd({
        kind: 'bridge',
        name,
        mac: randomMac(),
        ...(settings.mtu !== undefined && { mtu: settings.mtu }),
        ...(settings.vlanFiltering && { vlanFiltering: true }),
      });
    } catch (err) {
      // Another ADD made it meanwhile.
      if (!isNetlinkError(err, 'exists')) throw err;
      existing = nl.linkByName(name);
    }
  }
  const created = !existing;
  const link = asBridge(existing ?? nl.linkByName(name), name);
  ignoreRouterAdvertisements(nl.namespace, name);
  nl.linkSet(link.index, { up: true, ...(settings.promiscMode && { promisc: true }) });
  return { link, created };
}

/** True when a port other than `own` is on the bridge. */
export function bridgeHasOtherPorts(nl: Netlink, bridgeIndex: number, own: readonly number[]): boolean {
  return nl.linkList().some((link) => link.masterIndex === bridgeIndex && !own.includes(link.index));
}

/** Undo of `ensureBridge`: removes a bridge this ADD created, unless another container has joined it. */
export function releaseBridge(nl: Netlink, bridge: EnsuredBridge): void {
  if (!bridge.created || bridgeHasOtherPorts(nl, bridge.link.index, [])) return;
  ignoreNotFound(() => nl.linkDel(bridge.link.index));
}

/**
 * How `wanted` fits the addresses a link holds: 'present' when it is there (address and prefix), else the
 * addresses that stand in its way — every other IPv4 address (a bridge gateway is one per family), and
 * IPv6 addresses whose subnet overlaps (several IPv6 subnets may share a bridge).
 */
export function gatewayConflicts(existing: readonly IpNet[], wanted: IpNet): 'present' | IpNet[] {
  const family = wanted.address.family;
  const same = existing.filter((a) => a.address.family === family);
  if (same.some((a) => a.prefix === wanted.prefix && ipEquals(a.address, wanted.address))) return 'present';
  return same.filter((a) => family === 4 || netContains(a, wanted.address) || netContains(wanted, a.address));
}

export interface GatewayChange {
  readonly link: number;
  readonly added: IpNet[];
  /** Addresses forceAddress took away, put back by the undo. */
  readonly removed: IpNet[];
}

export interface GatewayOptions {
  /** Replace a different address in the way instead of failing. */
  readonly forceAddress: boolean;
  /** Run IPv6 duplicate address detection on the gateway too; otherwise it is usable at once. */
  readonly enableDad: boolean;
}

/**
 * Puts the gateway addresses on `link` (the bridge, or its VLAN gateway interface). A different address in
 * the way is an error, or is replaced when `forceAddress` is set. A link that gets an address has its MAC
 * pinned (set to itself), so the gateway's MAC does not change as ports come and go.
 */
export function ensureGatewayAddresses(nl: Netlink, link: { index: number; name: string; mac?: string }, gateways: readonly IpNet[], options: GatewayOptions): GatewayChange {
  const change: GatewayChange = { link: link.index, added: [], removed: [] };
  for (const wanted of gateways) {
    const held = nl.addrList({ link: link.index, family: wanted.address.family }).map((a) => a.address);
    const conflicts = gatewayConflicts(held, wanted);
    if (conflicts === 'present') continue;
    for (const other of conflicts) {
      if (!options.forceAddress) {
        throw new CniError(
          ErrorCode.InvalidNetworkConfig,
          `"${link.name}" already has an IP address different from ${formatCidr(wanted)}`,
          `it holds ${formatCidr(other)}; set forceAddress to replace it`,
        );
      }
      nl.addrDel({ link: link.index, address: other });
      change.removed.push(other);
    }
    try {
      const v4 = wanted.address.family === 4;
      nl.addrAdd({
        link: link.index,
        address: wanted,
        ...(v4 && wanted.prefix < 31 && { broadcast: 'auto' as const }),
        ...(!v4 && !options.enableDad && { nodad: true }),
      });
      change.added.push(wanted);
    } catch (err) {
      // Another ADD put it there meanwhile: it is theirs, and there.
      if (!isNetlinkError(err, 'exists')) throw err;
    }
  }
  if (change.added.length > 0 && link.mac) nl.linkSetMac(link.index, link.mac);
  return change;
}

/** Undo of `ensureGatewayAddresses`, unless another container (a port outside `own`) relies on the bridge. */
export function restoreGatewayAddresses(nl: Netlink, bridgeIndex: number, own: readonly number[], change: GatewayChange): void {
  if (bridgeHasOtherPorts(nl, bridgeIndex, own)) return;
  for (const address of change.added) ignoreNotFound(() => nl.addrDel({ link: change.link, address }));
  for (const address of change.removed) nl.addrAdd({ link: change.link, address });
}

export interface VlanGateway {
  readonly index: number;
  readonly name: string;
  readonly mac?: string;
  /** The bridge port of the gateway's veth pair when this ADD created it; undefined when it existed. */
  readonly createdPort?: number;
}

/**
 * The interface that carries the gateway of a VLAN (`<bridge>.<vid>`), as the reference makes it: one end of
 * a veth pair whose other end is a bridge port with the VLAN untagged, so the host sits inside that VLAN.
 */
export function ensureVlanGateway(nl: Netlink, bridge: BridgeLink, settings: BridgeSettings): VlanGateway {
  const name = vlanGatewayName(bridge.name, settings.vlan);
  const existing = ignoreNotFound(() => nl.linkByName(name));
  if (existing) return { index: existing.index, name, ...(existing.mac && { mac: existing.mac }) };
  const portName = createVethPair(nl, { name }, bridge.mtu);
  const port = nl.linkByName(portName);
  attachPort(nl, port, bridge.index, { ...settings, vlanTrunk: [], hairpinMode: false, portIsolation: false });
  const gateway = nl.linkByName(name);
  ignoreRouterAdvertisements(nl.namespace, name);
  nl.linkSetUp(gateway.index);
  return { index: gateway.index, name, ...(gateway.mac && { mac: gateway.mac }), createdPort: port.index };
}

/** Undo of `ensureVlanGateway`: removes a pair this ADD made while no other container uses the bridge. */
export function releaseVlanGateway(nl: Netlink, bridgeIndex: number, own: readonly number[], gateway: VlanGateway): void {
  if (gateway.createdPort === undefined || bridgeHasOtherPorts(nl, bridgeIndex, [...own, gateway.createdPort])) return;
  ignoreNotFound(() => nl.linkDel(gateway.index));
}

const forwardingKeys: Record<IpFamily, string> = { 4: 'net/ipv4/ip_forward', 6: 'net/ipv6/conf/all/forwarding' };

/**
 * Routes between the bridge and the world for each family with a gateway. Never turned off again: other
 * networks on the host rely on it too.
 */
export function enableForwarding(nsPath: string | undefined, gateways: readonly IpNet[]): void {
  for (const family of new Set(gateways.map((g) => g.address.family))) turnOn(nsPath, forwardingKeys[family]);
}
