// Bridge forwarding-database entries (`bridge fdb`): neighbour messages with family AF_BRIDGE. On a
// VXLAN device (NTF_SELF) an entry maps a MAC to the remote VTEP that has it; the all-zeros MAC with
// several remotes (appended) floods broadcast and unknown traffic to each of them.
import { formatIp, ipFromBytes, ipToBytes, type IpAddress } from '../ip/address.ts';
import { MessageWriter } from './codec.ts';
import { describeLink, type LinkRef, type Resolver } from './link.ts';
import { formatMac, parseMac } from './mac.ts';
import { NDA_DST, NDA_LLADDR, readNdmsg, stateName, stateNumber, writeNdmsg, type NeighbourState } from './neighbour.ts';
import { AF_BRIDGE, Flags, NLM_F_DUMP, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH } from './rtnetlink.ts';
import type { Request } from './socket.ts';

const NDA_VLAN = 5;
const NDA_PORT = 6;
const NDA_VNI = 7;
const NDA_MASTER = 9;
const NTF_SELF = 0x02;
const NTF_MASTER = 0x04;
const NTF_EXT_LEARNED = 0x10;

export interface FdbSpec {
  /** The device the entry is on: a VXLAN device, or a bridge port. */
  readonly link: LinkRef;
  readonly mac: string;
  /** Remote VTEP address (VXLAN). */
  readonly dst?: IpAddress;
  readonly vni?: number;
  /** Remote UDP port (VXLAN). */
  readonly port?: number;
  readonly vlan?: number;
  /** Put the entry in the port's bridge (NTF_MASTER) instead of the device's own table (NTF_SELF). */
  readonly master?: boolean;
  /** Default `permanent`. */
  readonly state?: NeighbourState;
}

export interface FdbEntry {
  readonly link: number;
  readonly mac: string;
  readonly dst?: IpAddress;
  readonly vni?: number;
  readonly port?: number;
  readonly vlan?: number;
  /** In the device's own table (a VXLAN device's remotes). */
  readonly self: boolean;
  /** In the table of the bridge the device is a port of. */
  readonly master: boolean;
  /** That bridge. */
  readonly masterIndex?: number;
  readonly state: NeighbourState;
  readonly externallyLearned: boolean;
}

function describeFdb(spec: FdbSpec): string {
  const dst = spec.dst ? ` dst ${formatIp(spec.dst)}` : '';
  const vni = spec.vni !== undefined ? ` vni ${spec.vni}` : '';
  return `${spec.mac}${dst}${vni} on ${describeLink(spec.link)}`;
}

/** `append` adds one more remote to a MAC (flooding); `set` creates or replaces the MAC's entry. */
export function fdbRequest(op: 'append' | 'set' | 'delete', spec: FdbSpec, r: Resolver): Request {
  const type = op === 'delete' ? RTM_DELNEIGH : RTM_NEWNEIGH;
  const flags = op === 'append' ? Flags.append : op === 'set' ? Flags.replace : Flags.none;
  const state = op === 'delete' ? 0 : stateNumber(spec.state ?? 'permanent');
  const w = writeNdmsg(new MessageWriter(type, flags), AF_BRIDGE, r.index(spec.link), state, spec.master ? NTF_MASTER : NTF_SELF);
  w.attrBytes(NDA_LLADDR, parseMac(spec.mac));
  if (spec.dst) w.attrBytes(NDA_DST, ipToBytes(spec.dst));
  if (spec.vlan !== undefined) w.attrU16(NDA_VLAN, spec.vlan);
  if (spec.port !== undefined) w.attrBe16(NDA_PORT, spec.port);
  if (spec.vni !== undefined) w.attrU32(NDA_VNI, spec.vni);
  return { message: w.finish(), operation: () => `${op} fdb ${describeFdb(spec)}` };
}

export function fdbDumpRequest(): Request {
  const w = writeNdmsg(new MessageWriter(RTM_GETNEIGH, NLM_F_DUMP), AF_BRIDGE, 0, 0, 0);
  return { message: w.finish(), operation: () => 'list fdb' };
}

export function decodeFdb(body: Buffer): FdbEntry | undefined {
  const { family, index, state, flags, attrs } = readNdmsg(body);
  const mac = attrs.bytes(NDA_LLADDR);
  if (family !== AF_BRIDGE || !mac || mac.length !== 6) return undefined;
  const dst = attrs.bytes(NDA_DST);
  const vni = attrs.u32(NDA_VNI);
  const port = attrs.be16(NDA_PORT);
  const vlan = attrs.u16(NDA_VLAN);
  const master = attrs.u32(NDA_MASTER);
  return {
    link: index,
    mac: formatMac(mac),
    ...(dst && (dst.length === 4 || dst.length === 16) && { dst: ipFromBytes(dst) }),
    ...(vni !== undefined && { vni }),
    ...(port !== undefined && { port }),
    ...(vlan !== undefined && { vlan }),
    self: (flags & NTF_SELF) !== 0,
    // The bridge marks its own entries with NDA_MASTER, not with NTF_MASTER.
    master: (flags & NTF_MASTER) !== 0 || master !== undefined,
    ...(master !== undefined && { masterIndex: master }),
    state: stateName(state),
    externallyLearned: (flags & NTF_EXT_LEARNED) !== 0,
  };
}
