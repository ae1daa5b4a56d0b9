// One DNS message in, one answer out (or none), whatever the transport: the message is decoded by
// dns-packet, checked, answered from the zone or through the forwarder, and encoded by dns-packet.
//   - Anything that is not a query with one question is answered FORMERR (a response, or fewer than 12
//     bytes, is dropped: answering responses invites loops); another opcode NOTIMP, another class REFUSED.
//   - EDNS0 (RFC 6891): an OPT in the query gets ours in the answer, advertising 1,232 bytes (the DNS flag
//     day's size, which fits any path's MTU); an EDNS version above 0 is BADVERS.
//   - An answer larger than the client can take over UDP (512 bytes, or its EDNS size) goes out empty with
//     TC set, and the client asks again over TCP (RFC 1035 §4.2.1, RFC 7766).
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet, type Question } from 'dns-packet';
import type { CachedAnswer } from './answer-cache.ts';
import type { DnsStats } from './dns-stats.ts';
import type { EncodedAnswers } from './encoded-answers.ts';
import type { Zone } from './zone.ts';

export type Transport = 'udp' | 'tcp';

export interface ResponderContext {
  /** The zone as it is now. */
  readonly zone: () => Zone;
  /** An answer from the host's resolvers (or the cache); undefined when none came. */
  readonly forward: (question: Question) => Promise<CachedAnswer | undefined>;
  readonly stats: DnsStats;
  /** Answers of the zone kept as sent, when given. */
  readonly encoded?: EncodedAnswers;
}

export const advertisedUdpSize = 1232;
const minUdpSize = 512;
const maxMessageSize = 65_535;
const headerSize = 12;
const rcodes: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
/** BADVERS is 16: its upper bits travel in the OPT record. */
const badVersExtended = 1;
const opcodeOf = (flags: number) => (flags >> 11) & 0xf;

interface Reply {
  readonly rcode: string;
  readonly authoritative?: boolean;
  readonly varies?: boolean;
  /** A forwarded answer: until when the same bytes answer the same query. */
  readonly sameUntil?: number;
  readonly answers?: readonly Answer[];
  readonly authorities?: readonly Answer[];
  readonly additionals?: readonly Answer[];
  readonly extendedRcode?: number;
}

function ourOpt(extendedRcode = 0): OptAnswer {
  return { name: '.', type: 'OPT', udpPayloadSize: advertisedUdpSize, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}

/** The largest answer the client takes over `transport`. */
function sizeLimit(transport: Transport, opt: OptAnswer | undefined): number {
  if (transport === 'tcp') return maxMessageSize;
  return opt ? Math.max(minUdpSize, Math.min(opt.udpPayloadSize, maxMessageSize)) : minUdpSize;
}

function encodeReply(query: DecodedPacket, question: Question | undefined, opt: OptAnswer | undefined, reply: Reply, limit: number): Buffer {
  const queryFlags = query.flags ?? 0;
  const flags = (queryFlags & (dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED | (0xf << 11)))
    | dnsPacket.RECURSION_AVAILABLE | (reply.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (rcodes[reply.rcode] ?? 2);
  const optRecords = opt ? [ourOpt(reply.extendedRcode)] : [];
  const packet: Packet = {
    type: 'response', id: query.id ?? 0, flags,
    questions: question ? [question] : [],
    answers: [...(reply.answers ?? [])],
    authorities: [...(reply.authorities ?? [])],
    additionals: [...(reply.additionals ?? []), ...optRecords],
  };
  const encoded = dnsPacket.encode(packet);
  if (encoded.length <= limit) return encoded;
  return dnsPacket.encode({ ...packet, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: optRecords });
}

/**
 * Whether the header's record counts can be true of a message this long (a question takes at least 5
 * bytes, a record 11). dns-packet allocates arrays of the counts before reading: 65,535 of each costs it
 * milliseconds, which a stream of 12-byte messages would turn into a stall for every client.
 */
export function plausibleCounts(message: Buffer): boolean {
  const count = (offset: number) => message.readUInt16BE(offset);
  return count(4) * 5 + (count(6) + count(8) + count(10)) * 11 <= message.length - headerSize;
}

/** A FORMERR for a message dns-packet cannot read: only its ID and flags are taken from it. */
function formatError(message: Buffer): Buffer {
  const flags = message.readUInt16BE(2);
  return dnsPacket.encode({ type: 'response', id: message.readUInt16BE(0), flags: (flags & dnsPacket.RECURSION_DESIRED) | rcodes.FORMERR!, questions: [] });
}

async function replyTo(question: Question, zone: Zone, context: ResponderContext): Promise<Reply> {
  if (question.class !== 'IN') return { rcode: 'REFUSED' };
  const local = zone.answer(question.name.toLowerCase(), question.type);
  if (local) return { ...local, authoritative: true };
  const forwarded = await context.forward(question);
  return forwarded ?? { rcode: 'SERVFAIL' };
}

/** The answer to `message`, encoded; undefined when it gets none. Never throws. */
export async function respond(message: Buffer, transport: Transport, context: ResponderContext): Promise<Buffer | undefined> {
  const { stats } = context;
  if (message.length < headerSize || (message.readUInt16BE(2) & 0x8000) !== 0) {
    stats.dropped++;
    return undefined;
  }
  const zone = context.zone();
  const kept = context.encoded?.get(zone, transport, message);
  if (kept) {
    stats.answered(kept.type, kept.rcode);
    // A forwarded answer (one that expires) comes from the cache, whichever form it is kept in.
    if (kept.expiresAt !== undefined) stats.cacheHits++;
    return kept.answer;
  }
  let query: DecodedPacket;
  try {
    if (!plausibleCounts(message)) throw new RangeError('record counts beyond the message');
    query = dnsPacket.decode(message);
  } catch {
    stats.answered('none', 'FORMERR');
    return formatError(message);
  }
  try {
    const questions = query.questions ?? [];
    const opts = (query.additionals ?? []).filter((r): r is OptAnswer => r.type === 'OPT');
    const opt = opts[0];
    const question = questions.length === 1 ? questions[0] : undefined;
    const limit = sizeLimit(transport, opt);
    let reply: Reply;
    if (opcodeOf(query.flags ?? 0) !== 0) reply = { rcode: 'NOTIMP' };
    else if (!question || opts.length > 1) reply = { rcode: 'FORMERR' };
    else if (opt && opt.ednsVersion > 0) reply = { rcode: 'NOERROR', extendedRcode: badVersExtended };
    else reply = await replyTo(question, zone, context);
    const counted = { type: question?.type ?? 'none', rcode: reply.extendedRcode ? 'BADVERS' : reply.rcode };
    stats.answered(counted.type, counted.rcode);
    const answer = encodeReply(query, question, opt, reply, limit);
    if (reply.authoritative && !reply.varies) context.encoded?.set(zone, transport, message, { answer, ...counted });
    else if (reply.sameUntil !== undefined) context.encoded?.set(zone, transport, message, { answer, ...counted, expiresAt: reply.sameUntil });
    return answer;
  } catch {
    // An answer dns-packet cannot encode (an upstream's odd record): the client hears SERVFAIL, not nothing.
    stats.answered(query.questions?.[0]?.type ?? 'none', 'SERVFAIL');
    return encodeReply(query, undefined, undefined, { rcode: 'SERVFAIL' }, minUdpSize);
  }
}
