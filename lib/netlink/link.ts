// Links (network interfaces): what to create (a union by kind), what the kernel reports, and the
// RTM_NEWLINK / RTM_SETLINK / RTM_DELLINK / RTM_GETLINK messages between the two.
import { Attrs, MessageWriter, readI32, readU32 } from './codec.ts';
import { type BridgePortOptions, describeBridgePort, readBridgePort, writeBridgePort } from './bridge-port.ts';
import {
  type BridgeOptions,
  type VlanOptions,
  type VlanProtocol,
  type VxlanInfo,
  type VxlanOptions,
  readBridgeData,
  readVlanData,
  readVxlanData,
  writeBridgeData,
  writeVlanData,
  writeVxlanData,
} from './link-kinds.ts';
import { formatMac, parseMac } from './mac.ts';
import { AF_BRIDGE, AF_UNSPEC, Flags, NLM_F_DUMP, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK } from './rtnetlink.ts';
import type { Request } from './socket.ts';

// linux/if_link.h
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_MASTER = 10;
const IFLA_PROTINFO = 12;
const IFLA_TXQLEN = 13;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_IFALIAS = 20;
const IFLA_NET_NS_FD = 28;
const IFLA_EXT_MASK = 29;
const IFLA_LINK_NETNSID = 37;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_INFO_SLAVE_KIND = 4;
const IFLA_INFO_SLAVE_DATA = 5;
const VETH_INFO_PEER = 1;
const RTEXT_FILTER_SKIP_STATS = 1 << 3;
// linux/if.h
const IFF_UP = 0x1;
const IFF_PROMISC = 0x100;
const IFF_LOWER_UP = 0x10000;

/** A link by ifindex or by name, in the handle's namespace. */
export type LinkRef = number | string;

/** What requests need from the handle that builds them. */
export interface Resolver {
  /** The ifindex of `ref` (names are looked up). */
  index(ref: LinkRef): number;
  /** A descriptor of the namespace at `path`, kept open until the request has been sent. */
  netnsFd(path: string): number;
}

/** Settings any new link may carry. */
export interface NewLinkCommon {
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: string;
  readonly txQueueLen?: number;
  readonly master?: LinkRef;
  /** Create the link in this namespace (path) rather than the handle's. */
  readonly namespace?: string;
  readonly up?: boolean;
  readonly alias?: string;
}

export interface VethPeer {
  readonly name: string;
  /** Namespace (path) the peer is created in; the new link's own when absent. */
  readonly namespace?: string;
  readonly mac?: string;
  /** Defaults to the link's own MTU. */
  readonly mtu?: number;
}

export interface NewVeth extends NewLinkCommon {
  readonly kind: 'veth';
  readonly peer: VethPeer;
}
export interface NewBridge extends NewLinkCommon, BridgeOptions {
  readonly kind: 'bridge';
}
export interface NewVxlan extends NewLinkCommon, VxlanOptions {
  readonly kind: 'vxlan';
  /** The device tunnel packets leave by. */
  readonly underlay?: LinkRef;
}
export interface NewVlan extends NewLinkCommon, VlanOptions {
  readonly kind: 'vlan';
  readonly parent: LinkRef;
}
/** A link to create. */
export type LinkSpec = NewVeth | NewBridge | NewVxlan | NewVlan;

export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';
const operStates: readonly OperState[] = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

/** What the kernel reports of every link. */
export interface LinkAttrs {
  readonly index: number;
  readonly name: string;
  readonly mtu: number;
  readonly mac?: string;
  readonly txQueueLen?: number;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** Carrier present. */
  readonly lowerUp: boolean;
  readonly promisc: boolean;
  readonly operState: OperState;
  readonly masterIndex?: number;
  /** IFLA_LINK: a veth's peer, a VLAN's parent; in namespace `linkNetnsId` when that is set. */
  readonly parentIndex?: number;
  readonly linkNetnsId?: number;
  readonly alias?: string;
  /** Port options, when the link is a bridge port. */
  readonly bridgePort?: BridgePortOptions;
}

export interface VethLink extends LinkAttrs {
  readonly kind: 'veth';
}
export interface BridgeLink extends LinkAttrs, Required<BridgeOptions> {
  readonly kind: 'bridge';
}
export interface VxlanLink extends LinkAttrs, VxlanInfo {
  readonly kind: 'vxlan';
}
export interface VlanLink extends LinkAttrs {
  readonly kind: 'vlan';
  readonly vid: number;
  readonly protocol: VlanProtocol;
}
/** Any other link: physical devices (no kind) and kinds this layer does not model (`infoKind`). */
export interface DeviceLink extends LinkAttrs {
  readonly kind: 'device';
  readonly infoKind?: string;
}
export type Link = VethLink | BridgeLink | VxlanLink | VlanLink | DeviceLink;

/** Changes to an existing link (RTM_SETLINK). */
export interface LinkChange {
  readonly up?: boolean;
  readonly promisc?: boolean;
  readonly mtu?: number;
  readonly mac?: string;
  /** A bridge to enslave to; null releases the link from its master. */
  readonly master?: LinkRef | null;
  readonly name?: string;
  /** Move to this namespace (path). */
  readonly namespace?: string;
  readonly alias?: string;
}

export function checkLinkName(name: string): string {
  // The kernel's dev_valid_name(): at most IFNAMSIZ-1 bytes, no '/', ':' or white space, not . or ..
  if (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > 15 || /[/:\s]/.test(name) || name === '.' || name === '..') {
    throw new TypeError(`invalid interface name: ${JSON.stringify(name)} (1-15 characters, no '/', ':' or spaces)`);
  }
  return name;
}

export function describeLink(ref: LinkRef): string {
  return typeof ref === 'number' ? `link #${ref}` : `link ${ref}`;
}

/** The ifinfomsg struct that leads every link message. */
export function writeIfinfo(w: MessageWriter, family: number, index: number, flags = 0, change = 0): MessageWriter {
  return w.u8(family).u8(0).u16(0).i32(index).u32(flags).u32(change);
}

/** Starts a link message addressed to `ref`: by index, or by name with index 0. */
function addressed(type: number, flags: number, ref: LinkRef, ifFlags = 0, change = 0): MessageWriter {
  const w = writeIfinfo(new MessageWriter(type, flags), AF_UNSPEC, typeof ref === 'number' ? ref : 0, ifFlags, change);
  if (typeof ref === 'string') w.attrString(IFLA_IFNAME, checkLinkName(ref));
  return w;
}

function writeCommon(w: MessageWriter, c: { mtu?: number; mac?: string; namespace?: string }, r: Resolver): void {
  if (c.mtu !== undefined) w.attrU32(IFLA_MTU, c.mtu);
  if (c.mac !== undefined) w.attrBytes(IFLA_ADDRESS, parseMac(c.mac));
  if (c.namespace !== undefined) w.attrU32(IFLA_NET_NS_FD, r.netnsFd(c.namespace));
}

function writeKindData(w: MessageWriter, spec: LinkSpec, r: Resolver): void {
  switch (spec.kind) {
    case 'veth': {
      // The peer is a whole link description: an ifinfomsg, then its own attributes.
      const peer = spec.peer;
      w.nest(VETH_INFO_PEER, () => {
        writeIfinfo(w, AF_UNSPEC, 0);
        w.attrString(IFLA_IFNAME, checkLinkName(peer.name));
        writeCommon(w, { mtu: peer.mtu ?? spec.mtu, mac: peer.mac, namespace: peer.namespace }, r);
      }, false);
      return;
    }
    case 'bridge':
      return writeBridgeData(w, spec);
    case 'vxlan':
      return writeVxlanData(w, spec, spec.underlay === undefined ? undefined : r.index(spec.underlay));
    case 'vlan':
      return writeVlanData(w, spec);
  }
}

export function linkAddRequest(spec: LinkSpec, r: Resolver): Request {
  const w = writeIfinfo(new MessageWriter(RTM_NEWLINK, Flags.create), AF_UNSPEC, 0, spec.up ? IFF_UP : 0, spec.up ? IFF_UP : 0);
  w.attrString(IFLA_IFNAME, checkLinkName(spec.name));
  writeCommon(w, spec, r);
  if (spec.txQueueLen !== undefined) w.attrU32(IFLA_TXQLEN, spec.txQueueLen);
  if (spec.master !== undefined) w.attrU32(IFLA_MASTER, r.index(spec.master));
  if (spec.alias !== undefined) w.attrString(IFLA_IFALIAS, spec.alias);
  if (spec.kind === 'vlan') w.attrU32(IFLA_LINK, r.index(spec.parent));
  w.nest(IFLA_LINKINFO, () => {
    w.attrString(IFLA_INFO_KIND, spec.kind);
    w.nest(IFLA_INFO_DATA, () => writeKindData(w, spec, r));
  });
  const peer = spec.kind === 'veth' ? ` peer ${spec.peer.name}${spec.peer.namespace ? ` in ${spec.peer.namespace}` : ''}` : '';
  return { message: w.finish(), operation: () => `add ${spec.kind} link ${spec.name}${peer}` };
}

export function linkDelRequest(ref: LinkRef): Request {
  return { message: addressed(RTM_DELLINK, Flags.none, ref).finish(), operation: () => `delete ${describeLink(ref)}` };
}

function describeChange(c: LinkChange): string {
  const parts: string[] = [];
  if (c.up !== undefined) parts.push(c.up ? 'up' : 'down');
  if (c.promisc !== undefined) parts.push(`promisc ${c.promisc ? 'on' : 'off'}`);
  if (c.mtu !== undefined) parts.push(`mtu ${c.mtu}`);
  if (c.mac !== undefined) parts.push(`address ${c.mac}`);
  if (c.master !== undefined) parts.push(c.master === null ? 'nomaster' : `master ${c.master}`);
  if (c.namespace !== undefined) parts.push(`netns ${c.namespace}`);
  if (c.name !== undefined) parts.push(`name ${c.name}`);
  if (c.alias !== undefined) parts.push(`alias ${c.alias}`);
  return parts.join(' ');
}

export function linkSetRequest(ref: LinkRef, c: LinkChange, r: Resolver): Request {
  let flags = 0;
  let change = 0;
  if (c.up !== undefined) {
    change |= IFF_UP;
    if (c.up) flags |= IFF_UP;
  }
  if (c.promisc !== undefined) {
    change |= IFF_PROMISC;
    if (c.promisc) flags |= IFF_PROMISC;
  }
  // A new name travels in IFLA_IFNAME, so the link itself must then be addressed by index.
  const target = c.name !== undefined && typeof ref === 'string' ? r.index(ref) : ref;
  const w = addressed(RTM_SETLINK, Flags.none, target, flags, change);
  writeCommon(w, c, r);
  if (c.master !== undefined) w.attrU32(IFLA_MASTER, c.master === null ? 0 : r.index(c.master));
  if (c.name !== undefined) w.attrString(IFLA_IFNAME, checkLinkName(c.name));
  if (c.alias !== undefined) w.attrString(IFLA_IFALIAS, c.alias);
  return { message: w.finish(), operation: () => `set ${describeLink(ref)} ${describeChange(c)}` };
}

/** A bridge's own options, changed in place: RTM_NEWLINK without NLM_F_CREATE on the existing link. */
export function linkSetBridgeRequest(ref: LinkRef, o: BridgeOptions): Request {
  const w = addressed(RTM_NEWLINK, Flags.none, ref);
  w.nest(IFLA_LINKINFO, () => {
    w.attrString(IFLA_INFO_KIND, 'bridge');
    w.nest(IFLA_INFO_DATA, () => writeBridgeData(w, o));
  });
  return { message: w.finish(), operation: () => `set bridge ${describeLink(ref)} ${JSON.stringify(o)}` };
}

/** Bridge port options go to the bridge (AF_BRIDGE), which looks the port up by index only. */
export function linkSetBridgePortRequest(ref: LinkRef, o: BridgePortOptions, r: Resolver): Request {
  const w = writeIfinfo(new MessageWriter(RTM_SETLINK, Flags.none), AF_BRIDGE, r.index(ref));
  // The kernel reads IFLA_PROTINFO as port options only when it is flagged nested.
  w.nest(IFLA_PROTINFO, () => writeBridgePort(w, o));
  return { message: w.finish(), operation: () => `set bridge port ${describeLink(ref)} ${describeBridgePort(o)}` };
}

export function linkGetRequest(ref: LinkRef): Request {
  const w = addressed(RTM_GETLINK, Flags.none, ref).attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return { message: w.finish(), operation: () => `get ${describeLink(ref)}` };
}

export function linkDumpRequest(): Request {
  const w = writeIfinfo(new MessageWriter(RTM_GETLINK, NLM_F_DUMP), AF_UNSPEC, 0).attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return { message: w.finish(), operation: () => 'list links' };
}

/** Decodes an RTM_NEWLINK message body. */
export function decodeLink(body: Buffer): Link {
  const flags = readU32(body, 8);
  const a = new Attrs(body, 16);
  const mac = a.bytes(IFLA_ADDRESS);
  const info = a.nested(IFLA_LINKINFO);
  const data = info?.nested(IFLA_INFO_DATA);
  const index = readI32(body, 4);
  const parent = a.u32(IFLA_LINK);
  const master = a.u32(IFLA_MASTER);
  const netnsId = a.has(IFLA_LINK_NETNSID) ? readI32(a.bytes(IFLA_LINK_NETNSID)!, 0) : undefined;
  const slaveData = info?.string(IFLA_INFO_SLAVE_KIND) === 'bridge' ? info.nested(IFLA_INFO_SLAVE_DATA) : undefined;
  const common: LinkAttrs = {
    index,
    name: a.string(IFLA_IFNAME) ?? '',
    mtu: a.u32(IFLA_MTU) ?? 0,
    ...(mac && mac.length > 0 && { mac: formatMac(mac) }),
    ...(a.has(IFLA_TXQLEN) && { txQueueLen: a.u32(IFLA_TXQLEN)! }),
    up: (flags & IFF_UP) !== 0,
    lowerUp: (flags & IFF_LOWER_UP) !== 0,
    promisc: (flags & IFF_PROMISC) !== 0,
    operState: operStates[a.u8(IFLA_OPERSTATE) ?? 0] ?? 'unknown',
    ...(master ? { masterIndex: master } : {}),
    // Indexes are per namespace: a peer elsewhere may share this link's own number.
    ...(parent ? { parentIndex: parent } : {}),
    ...(netnsId !== undefined && netnsId >= 0 && { linkNetnsId: netnsId }),
    ...(a.has(IFLA_IFALIAS) && { alias: a.string(IFLA_IFALIAS)! }),
    ...(slaveData && { bridgePort: readBridgePort(slaveData) }),
  };
  const infoKind = info?.string(IFLA_INFO_KIND);
  switch (infoKind) {
    case 'veth':
      return { ...common, kind: 'veth' };
    case 'bridge':
      return { ...common, kind: 'bridge', ...readBridgeData(data) };
    case 'vxlan':
      return { ...common, kind: 'vxlan', ...readVxlanData(data) };
    case 'vlan':
      return { ...common, kind: 'vlan', ...readVlanData(data) };
    default:
      return { ...common, kind: 'device', ...(infoKind && { infoKind }) };
  }
}

/** The ifindex in a RTM_NEWLINK body. */
export function linkIndex(body: Buffer): number {
  return readI32(body, 4);
}
