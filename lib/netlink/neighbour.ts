// Neighbour entries (ARP for IPv4, NDP for IPv6): RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH. The
// same message, with family AF_BRIDGE, carries forwarding-database entries (fdb.ts).
import { formatIp, ipFromBytes, ipToBytes, type IpAddress, type IpFamily } from '../ip/address.ts';
import { Attrs, MessageWriter, readI32, readU16 } from './codec.ts';
import { describeLink, type LinkRef, type Resolver } from './link.ts';
import { formatMac, parseMac } from './mac.ts';
import { AF_UNSPEC, Flags, NLM_F_DUMP, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH, addressFamily } from './rtnetlink.ts';
import type { Request } from './socket.ts';

// linux/neighbour.h
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
const NTF_ROUTER = 0x80;
const NTF_EXT_LEARNED = 0x10;

/** NUD_* states by name; a neighbour is in one of them. */
const states = {
  incomplete: 0x01,
  reachable: 0x02,
  stale: 0x04,
  delay: 0x08,
  probe: 0x10,
  failed: 0x20,
  noarp: 0x40,
  permanent: 0x80,
} as const;
export type NeighbourState = keyof typeof states | 'none';

export function stateNumber(state: NeighbourState): number {
  return state === 'none' ? 0 : states[state];
}

export function stateName(n: number): NeighbourState {
  const found = (Object.entries(states) as Array<[NeighbourState, number]>).find(([, bit]) => (n & bit) !== 0);
  return found ? found[0] : 'none';
}

/** The ndmsg struct that leads every neighbour message. */
export function writeNdmsg(w: MessageWriter, family: number, index: number, state: number, flags: number): MessageWriter {
  return w.u8(family).u8(0).u16(0).i32(index).u16(state).u8(flags).u8(0);
}

/** The common head of a neighbour reply: family, ifindex, state, flags, attributes. */
export function readNdmsg(body: Buffer): { family: number; index: number; state: number; flags: number; attrs: Attrs } {
  return { family: body[0]!, index: readI32(body, 4), state: readU16(body, 8), flags: body[10]!, attrs: new Attrs(body, 12) };
}

/** What names a neighbour entry. */
export interface NeighbourKey {
  readonly link: LinkRef;
  readonly ip: IpAddress;
}

export interface NeighbourSpec extends NeighbourKey {
  readonly mac: string;
  /** Default `permanent`: never expires, never re-resolved. */
  readonly state?: NeighbourState;
}

export interface Neighbour {
  readonly link: number;
  readonly ip: IpAddress;
  readonly mac?: string;
  readonly state: NeighbourState;
  readonly router: boolean;
  readonly externallyLearned: boolean;
}

export function neighSetRequest(spec: NeighbourSpec, r: Resolver): Request {
  const w = writeNdmsg(new MessageWriter(RTM_NEWNEIGH, Flags.replace), addressFamily(spec.ip.family), r.index(spec.link), stateNumber(spec.state ?? 'permanent'), 0)
    .attrBytes(NDA_DST, ipToBytes(spec.ip))
    .attrBytes(NDA_LLADDR, parseMac(spec.mac));
  return { message: w.finish(), operation: () => `set neighbour ${formatIp(spec.ip)} lladdr ${spec.mac} on ${describeLink(spec.link)}` };
}

export function neighDelRequest(key: NeighbourKey, r: Resolver): Request {
  const w = writeNdmsg(new MessageWriter(RTM_DELNEIGH, Flags.none), addressFamily(key.ip.family), r.index(key.link), 0, 0)
    .attrBytes(NDA_DST, ipToBytes(key.ip));
  return { message: w.finish(), operation: () => `delete neighbour ${formatIp(key.ip)} on ${describeLink(key.link)}` };
}

export function neighDumpRequest(family?: IpFamily): Request {
  const w = writeNdmsg(new MessageWriter(RTM_GETNEIGH, NLM_F_DUMP), family ? addressFamily(family) : AF_UNSPEC, 0, 0, 0);
  return { message: w.finish(), operation: () => 'list neighbours' };
}

/** Decodes an IPv4/IPv6 RTM_NEWNEIGH body (undefined for other families or entries without an address). */
export function decodeNeighbour(body: Buffer): Neighbour | undefined {
  const { index, state, flags, attrs } = readNdmsg(body);
  const dst = attrs.bytes(NDA_DST);
  if (!dst || (dst.length !== 4 && dst.length !== 16)) return undefined;
  const mac = attrs.bytes(NDA_LLADDR);
  return {
    link: index,
    ip: ipFromBytes(dst),
    ...(mac && mac.length > 0 && { mac: formatMac(mac) }),
    state: stateName(state),
    router: (flags & NTF_ROUTER) !== 0,
    externallyLearned: (flags & NTF_EXT_LEARNED) !== 0,
  };
}
