// The kind-specific part of a link (IFLA_INFO_DATA): options of bridges, VXLAN and VLAN devices,
// as typed objects in both directions. Veth peers are written by link.ts (they nest a whole link).
import { ipFromBytes, ipToBytes, type IpAddress } from '../ip/address.ts';
import { Attrs, type MessageWriter } from './codec.ts';

// linux/if_link.h: IFLA_BR_*
const IFLA_BR_STP_STATE = 5;
const IFLA_BR_VLAN_FILTERING = 7;
const IFLA_BR_MCAST_SNOOPING = 23;
const IFLA_BR_VLAN_DEFAULT_PVID = 39;

// IFLA_VXLAN_*
const IFLA_VXLAN_ID = 1;
const IFLA_VXLAN_GROUP = 2;
const IFLA_VXLAN_LINK = 3;
const IFLA_VXLAN_LOCAL = 4;
const IFLA_VXLAN_TTL = 5;
const IFLA_VXLAN_TOS = 6;
const IFLA_VXLAN_AGEING = 8;
const IFLA_VXLAN_PORT_RANGE = 10;
const IFLA_VXLAN_PORT = 15;
const IFLA_VXLAN_GROUP6 = 16;
const IFLA_VXLAN_LOCAL6 = 17;
const IFLA_VXLAN_GBP = 23;

// IFLA_VLAN_*
const IFLA_VLAN_ID = 1;
const IFLA_VLAN_PROTOCOL = 5;

export interface BridgeOptions {
  /** VLAN-aware bridge (needed for per-port VLANs). */
  readonly vlanFiltering?: boolean;
  /** The VLAN new ports get as PVID/untagged; 0 for none. */
  readonly vlanDefaultPvid?: number;
  readonly stp?: boolean;
  readonly multicastSnooping?: boolean;
}

/** VXLAN options that are on/off switches, by their IFLA_VXLAN_* number. */
const vxlanSwitches = {
  learning: 7,
  proxy: 11,
  l2miss: 13,
  l3miss: 14,
  udpCsum: 18,
  udp6ZeroCsumTx: 19,
  udp6ZeroCsumRx: 20,
} as const;
type VxlanSwitch = keyof typeof vxlanSwitches;

export interface VxlanOptions extends Partial<Record<VxlanSwitch, boolean>> {
  /** VXLAN network identifier (24 bits). */
  readonly vni: number;
  /** Source address of encapsulated packets. */
  readonly local?: IpAddress;
  /** Multicast group, or a single remote VTEP. */
  readonly group?: IpAddress;
  /** UDP destination port (the kernel's default is 8472; IANA's is 4789). */
  readonly port?: number;
  readonly srcPortRange?: readonly [low: number, high: number];
  readonly ttl?: number;
  readonly tos?: number;
  /** Group Based Policy extension. */
  readonly gbp?: boolean;
  /** Seconds before a learnt forwarding entry expires. */
  readonly ageing?: number;
}

export type VlanProtocol = '802.1Q' | '802.1ad';
const vlanEthertypes: Record<VlanProtocol, number> = { '802.1Q': 0x8100, '802.1ad': 0x88a8 };

export interface VlanOptions {
  readonly vid: number;
  readonly protocol?: VlanProtocol;
}

export function writeBridgeData(w: MessageWriter, o: BridgeOptions): void {
  if (o.stp !== undefined) w.attrU32(IFLA_BR_STP_STATE, o.stp ? 1 : 0);
  if (o.vlanFiltering !== undefined) w.attrU8(IFLA_BR_VLAN_FILTERING, o.vlanFiltering ? 1 : 0);
  if (o.multicastSnooping !== undefined) w.attrU8(IFLA_BR_MCAST_SNOOPING, o.multicastSnooping ? 1 : 0);
  if (o.vlanDefaultPvid !== undefined) w.attrU16(IFLA_BR_VLAN_DEFAULT_PVID, o.vlanDefaultPvid);
}

export function readBridgeData(a: Attrs | undefined): Required<BridgeOptions> {
  return {
    vlanFiltering: a?.bool(IFLA_BR_VLAN_FILTERING) ?? false,
    vlanDefaultPvid: a?.u16(IFLA_BR_VLAN_DEFAULT_PVID) ?? 0,
    stp: (a?.u32(IFLA_BR_STP_STATE) ?? 0) !== 0,
    multicastSnooping: a?.bool(IFLA_BR_MCAST_SNOOPING) ?? false,
  };
}

function writeVxlanAddress(w: MessageWriter, ip: IpAddress, v4Type: number, v6Type: number): void {
  w.attrBytes(ip.family === 4 ? v4Type : v6Type, ipToBytes(ip));
}

/** `underlay`: ifindex of the device the tunnel's packets leave by. */
export function writeVxlanData(w: MessageWriter, o: VxlanOptions, underlay: number | undefined): void {
  if (!Number.isInteger(o.vni) || o.vni < 0 || o.vni > 0xffffff) throw new RangeError(`VXLAN VNI ${o.vni} is not a 24-bit number`);
  w.attrU32(IFLA_VXLAN_ID, o.vni);
  if (o.local) writeVxlanAddress(w, o.local, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6);
  if (o.group) writeVxlanAddress(w, o.group, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6);
  if (underlay !== undefined) w.attrU32(IFLA_VXLAN_LINK, underlay);
  if (o.ttl !== undefined) w.attrU8(IFLA_VXLAN_TTL, o.ttl);
  if (o.tos !== undefined) w.attrU8(IFLA_VXLAN_TOS, o.tos);
  if (o.ageing !== undefined) w.attrU32(IFLA_VXLAN_AGEING, o.ageing);
  if (o.port !== undefined) w.attrBe16(IFLA_VXLAN_PORT, o.port);
  if (o.srcPortRange) {
    const range = Buffer.alloc(4);
    range.writeUInt16BE(o.srcPortRange[0], 0);
    range.writeUInt16BE(o.srcPortRange[1], 2);
    w.attrBytes(IFLA_VXLAN_PORT_RANGE, range);
  }
  for (const [name, type] of Object.entries(vxlanSwitches) as Array<[VxlanSwitch, number]>) {
    const on = o[name];
    if (on !== undefined) w.attrU8(type, on ? 1 : 0);
  }
  if (o.gbp) w.attrFlag(IFLA_VXLAN_GBP);
}

function readVxlanAddress(a: Attrs, v4Type: number, v6Type: number): IpAddress | undefined {
  const bytes = a.bytes(v4Type) ?? a.bytes(v6Type);
  if (!bytes || (bytes.length !== 4 && bytes.length !== 16)) return undefined;
  const ip = ipFromBytes(bytes);
  return ip.value === 0n ? undefined : ip;
}

/** What a VXLAN device reports; `underlay` is an ifindex. */
export interface VxlanInfo extends Required<Omit<VxlanOptions, 'local' | 'group' | 'srcPortRange'>> {
  readonly local?: IpAddress;
  readonly group?: IpAddress;
  readonly underlay?: number;
  readonly srcPortRange?: readonly [number, number];
}

export function readVxlanData(a: Attrs | undefined): VxlanInfo {
  const d = a ?? new Attrs(Buffer.alloc(0));
  const range = d.bytes(IFLA_VXLAN_PORT_RANGE);
  const switches = Object.fromEntries(
    Object.entries(vxlanSwitches).map(([name, type]) => [name, d.bool(type) ?? false]),
  ) as Record<VxlanSwitch, boolean>;
  const underlay = d.u32(IFLA_VXLAN_LINK);
  const local = readVxlanAddress(d, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6);
  const group = readVxlanAddress(d, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6);
  return {
    vni: d.u32(IFLA_VXLAN_ID) ?? 0,
    ...(local && { local }),
    ...(group && { group }),
    ...(underlay ? { underlay } : {}),
    port: d.be16(IFLA_VXLAN_PORT) ?? 0,
    // 0-0 is the kernel's "unset": it picks source ports from its own range.
    ...(range && range.length >= 4 && range.readUInt32BE(0) !== 0 ? { srcPortRange: [range.readUInt16BE(0), range.readUInt16BE(2)] as const } : {}),
    ttl: d.u8(IFLA_VXLAN_TTL) ?? 0,
    tos: d.u8(IFLA_VXLAN_TOS) ?? 0,
    ageing: d.u32(IFLA_VXLAN_AGEING) ?? 0,
    gbp: d.has(IFLA_VXLAN_GBP),
    ...switches,
  };
}

export function checkVlanId(vid: number): number {
  if (!Number.isInteger(vid) || vid < 1 || vid > 4094) throw new RangeError(`VLAN id ${vid} is not in 1-4094`);
  return vid;
}

export function writeVlanData(w: MessageWriter, o: VlanOptions): void {
  w.attrU16(IFLA_VLAN_ID, checkVlanId(o.vid));
  if (o.protocol) w.attrBe16(IFLA_VLAN_PROTOCOL, vlanEthertypes[o.protocol]);
}

export function readVlanData(a: Attrs | undefined): Required<VlanOptions> {
  const ethertype = a?.be16(IFLA_VLAN_PROTOCOL);
  return { vid: a?.u16(IFLA_VLAN_ID) ?? 0, protocol: ethertype === vlanEthertypes['802.1ad'] ? '802.1ad' : '802.1Q' };
}
