import dnsPacket, { type Packet, type Question } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { AnswerCache } from './answer-cache.ts';
import { DnsStats } from './dns-stats.ts';
import { Forwarder, matchingAnswer, type Exchange } from './forwarder.ts';
import type { Upstream } from './upstreams.ts';

const question: Question = { name: 'example.com', type: 'A', class: 'IN' };
const upstreams: Upstream[] = [{ address: '192.0.2.1', port: 53 }, { address: '192.0.2.2', port: 53 }];

/** An upstream answering every question with `rcode` and, for NOERROR, one A record of TTL 60. */
function answering(rcode: number, extra: Partial<Packet> = {}): (message: Buffer) => Buffer {
  return (message) => {
    const asked = dnsPacket.decode(message);
    return dnsPacket.encode({
      type: 'response', id: asked.id, flags: rcode, questions: asked.questions,
      answers: rcode === 0 ? [{ name: 'example.com', type: 'A', ttl: 60, data: '192.0.2.80' }] : [], ...extra,
    });
  };
}

/** Exchanges that call `behaviour[address]`: an answer, or a throw standing for a timeout. */
function exchanges(behaviour: Record<string, ((message: Buffer) => Buffer) | undefined>, log: string[], tcp?: (message: Buffer) => Buffer) {
  const make = (transport: string, pick: (u: Upstream) => ((message: Buffer) => Buffer) | undefined): Exchange => async (upstream, message, _timeout, accepts) => {
    log.push(`${transport} ${upstream.address}`);
    const answer = pick(upstream)?.(message);
    const decoded = answer && accepts(answer);
    if (!decoded) throw new Error('timed out');
    return decoded;
  };
  return { udp: make('udp', (u) => behaviour[u.address]), tcp: make('tcp', () => tcp) };
}

function forwarder(behaviour: Record<string, ((message: Buffer) => Buffer) | undefined>, log: string[] = [], tcp?: (message: Buffer) => Buffer) {
  const stats = new DnsStats();
  return { stats, forwarder: new Forwarder({ upstreams: () => upstreams, cache: new AnswerCache(), stats }, exchanges(behaviour, log, tcp)) };
}

describe('matchingAnswer', () => {
  it('takes only a response with the ID and question asked', () => {
    const answer = (id: number, name: string, type: 'response' | 'query' = 'response') => dnsPacket.encode({ type, id, questions: [{ name, type: 'A', class: 'IN' }] });
    expect(matchingAnswer(answer(7, 'EXAMPLE.com'), 7, question)).toBeDefined();
    expect(matchingAnswer(answer(8, 'example.com'), 7, question)).toBeUndefined();
    expect(matchingAnswer(answer(7, 'example.org'), 7, question)).toBeUndefined();
    expect(matchingAnswer(answer(7, 'example.com', 'query'), 7, question)).toBeUndefined();
    expect(matchingAnswer(Buffer.from('garbage garbage'), 7, question)).toBeUndefined();
  });
});

describe('Forwarder', () => {
  it('asks the first upstream, caches the answer and counts the hit', async () => {
    const log: string[] = [];
    const { forwarder: f, stats } = forwarder({ '192.0.2.1': answering(0) }, log);
    const first = await f.resolve(question);
    expect(first).toMatchObject({ rcode: 'NOERROR', answers: [expect.objectContaining({ data: '192.0.2.80' })], additionals: [] });
    expect(await f.resolve({ ...question, name: 'Example.COM' })).toMatchObject({ rcode: 'NOERROR' });
    expect(log).toEqual(['udp 192.0.2.1']);
    expect(stats).toMatchObject({ forwarded: 1, cacheHits: 1 });
  });

  it('asks the next upstream when one is silent or fails, and gives up when none answers', async () => {
    const log: string[] = [];
    const { forwarder: f } = forwarder({ '192.0.2.1': answering(2), '192.0.2.2': answering(3, { authorities: [] }) }, log);
    expect(await f.resolve(question)).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(log).toEqual(['udp 192.0.2.1', 'udp 192.0.2.2']);
    const none = forwarder({});
    expect(await none.forwarder.resolve(question)).toBeUndefined();
    expect(none.stats.upstreamFailures).toBe(1);
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    const log: string[] = [];
    const { forwarder: f } = forwarder({ '192.0.2.1': answering(dnsPacket.TRUNCATED_RESPONSE) }, log, answering(0));
    expect((await f.resolve(question))!.answers[0]).toMatchObject({ data: '192.0.2.80' });
    expect(log).toEqual(['udp 192.0.2.1', 'tcp 192.0.2.1']);
  });

  it('shares one upstream exchange among identical questions in flight', async () => {
    const log: string[] = [];
    const { forwarder: f } = forwarder({ '192.0.2.1': answering(0, { answers: [{ name: 'example.com', type: 'A', ttl: 0, data: '192.0.2.80' }] }) }, log);
    const answers = await Promise.all([f.resolve(question), f.resolve(question), f.resolve(question)]);
    expect(answers.every((a) => a?.rcode === 'NOERROR')).toBe(true);
    expect(log).toEqual(['udp 192.0.2.1']);
  });
});
