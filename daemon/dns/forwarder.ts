// Questions outside the zone, asked of the host's resolvers and cached. Each question gets a fresh socket
// (a random source port) and a random ID, and only an answer from the upstream asked, with that ID and
// that question, is taken (RFC 5452). Upstreams are tried in order, each for `timeoutMs`; a truncated UDP
// answer is asked again over TCP. Identical questions in flight share one upstream exchange, so a burst of
// clients asking for one name costs one question upstream.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import dnsPacket, { type DecodedPacket, type Question } from 'dns-packet';
import { AnswerCache, type CachedAnswer } from './answer-cache.ts';
import type { DnsStats } from './dns-stats.ts';
import { advertisedUdpSize, plausibleCounts } from './responder.ts';
import type { Upstream } from './upstreams.ts';

export interface ForwarderOptions {
  /** The upstreams as they are now. */
  readonly upstreams: () => readonly Upstream[];
  readonly cache: AnswerCache;
  readonly stats: DnsStats;
  readonly timeoutMs?: number;
}

/** Sends `message` to `upstream` and resolves with the first answer `accepts` takes. */
export type Exchange = (upstream: Upstream, message: Buffer, timeoutMs: number, accepts: (answer: Buffer) => DecodedPacket | undefined) => Promise<DecodedPacket>;

/** The upstream's answer to `id` and `question`, decoded; undefined when `message` is not that. */
export function matchingAnswer(message: Buffer, id: number, question: Question): DecodedPacket | undefined {
  if (message.length < 12 || !plausibleCounts(message)) return undefined;
  let packet: DecodedPacket;
  try {
    packet = dnsPacket.decode(message);
  } catch {
    return undefined;
  }
  const asked = packet.questions?.[0];
  if (packet.type !== 'response' || packet.id !== id || packet.questions?.length !== 1 || !asked) return undefined;
  if (asked.name.toLowerCase() !== question.name.toLowerCase() || asked.type !== question.type || asked.class !== question.class) return undefined;
  return packet;
}

type Finish = (result: DecodedPacket | Error) => void;

/** One exchange: `start` gets `finish`, which settles it once (an answer, or an error) and ends its timer and socket. */
function settleOnce(what: string, timeoutMs: number, close: () => void, start: (finish: Finish) => void): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no answer from ${what} in ${timeoutMs} ms`)), timeoutMs);
    const finish: Finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      close();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    start(finish);
  });
}

const udpExchange: Exchange = (upstream, message, timeoutMs, accepts) => {
  const socket = createSocket(isIPv6(upstream.address) ? 'udp6' : 'udp4');
  return settleOnce(upstream.address, timeoutMs, () => socket.close(), (finish) => {
    socket.on('error', finish);
    // Connected: the kernel delivers only the upstream's datagrams, and an ICMP refusal as an error. A
    // datagram that is not the answer (a forgery, a late answer) is ignored: the real one may follow.
    socket.on('message', (datagram) => {
      const answer = accepts(datagram);
      if (answer) finish(answer);
    });
    // A connect that fails (no route to the upstream: ENETUNREACH) reports to its callback, not as 'error';
    // one that completes after the timeout finds the socket closed, and send throws.
    socket.connect(upstream.port, upstream.address, (err?: Error) => {
      if (err) return finish(err);
      try {
        socket.send(message, (sendErr) => sendErr && finish(sendErr));
      } catch (sendErr) {
        finish(sendErr as Error);
      }
    });
  });
};

const tcpExchange: Exchange = (upstream, message, timeoutMs, accepts) => {
  const socket = connect({ host: upstream.address, port: upstream.port });
  return settleOnce(`${upstream.address} over TCP`, timeoutMs, () => socket.destroy(), (finish) => {
    let received = Buffer.alloc(0);
    socket.on('error', finish);
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.end(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
      finish(accepts(received.subarray(2, 2 + received.readUInt16BE(0))) ?? new Error(`${upstream.address} answered something else over TCP`));
    });
    socket.on('end', () => finish(new Error(`${upstream.address} closed the TCP connection without an answer`)));
  });
};

export class Forwarder {
  private readonly inflight = new Map<string, Promise<CachedAnswer | undefined>>();

  constructor(private readonly options: ForwarderOptions, private readonly exchanges = { udp: udpExchange, tcp: tcpExchange }) {}

  /** The answer from the cache or an upstream; undefined when no upstream answered. */
  resolve(question: Question): Promise<CachedAnswer | undefined> {
    const { cache, stats } = this.options;
    const key = AnswerCache.key(question.name, question.type, question.class ?? 'IN');
    const cached = cache.get(key);
    if (cached) {
      stats.cacheHits++;
      return Promise.resolve(cached);
    }
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const asking = this.ask(question).then((answer) => (answer && cache.set(key, answer)) ?? answer).finally(() => this.inflight.delete(key));
    this.inflight.set(key, asking);
    return asking;
  }

  private async ask(question: Question): Promise<CachedAnswer | undefined> {
    const { stats, timeoutMs = 2000 } = this.options;
    stats.forwarded++;
    for (const upstream of this.options.upstreams()) {
      const id = randomInt(0x10000);
      const message = dnsPacket.encode({
        type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [question],
        additionals: [{ name: '.', type: 'OPT', udpPayloadSize: advertisedUdpSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
      });
      const accepts = (datagram: Buffer) => matchingAnswer(datagram, id, question);
      try {
        let answer = await this.exchanges.udp(upstream, message, timeoutMs, accepts);
        if (answer.flag_tc) answer = await this.exchanges.tcp(upstream, message, timeoutMs, accepts);
        const rcode = (answer as DecodedPacket & { rcode?: string }).rcode ?? 'SERVFAIL';
        // A failing upstream is as good as a silent one: the next may know.
        if (rcode === 'SERVFAIL' || rcode === 'REFUSED') continue;
        return {
          rcode,
          answers: answer.answers ?? [],
          authorities: answer.authorities ?? [],
          additionals: (answer.additionals ?? []).filter((r) => r.type !== 'OPT'),
        };
      } catch {
        // Timed out, refused or reset: the next upstream.
      }
    }
    stats.upstreamFailures++;
    return undefined;
  }
}
