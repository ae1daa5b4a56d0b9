import { randomBytes } from 'node:crypto';
import dnsPacket, { type DecodedPacket, type Packet, type Question } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import type { CachedAnswer } from './answer-cache.ts';
import { DnsStats } from './dns-stats.ts';
import { EncodedAnswers } from './encoded-answers.ts';
import { respond, type ResponderContext, type Transport } from './responder.ts';
import { Zone } from './zone.ts';

const many = Array.from({ length: 100 }, (_, i) => endpoint('big', `c${String(i).padStart(11, '0')}`, 'node-1', `10.244.1.${i + 2}`));
const zone = new Zone({ domain: 'weft.internal', networks: [parseCidr('10.244.0.0/16')] }, 1, [endpoint('web', 'aaaaaaaaaaaa', 'node-1', '10.244.1.200'), ...many], { isServing: () => true });
const upstreamAnswer: CachedAnswer = { rcode: 'NOERROR', answers: [{ name: 'example.com', type: 'A', ttl: 300, data: '192.0.2.7' }], authorities: [], additionals: [] };

function context(forward: (q: Question) => Promise<CachedAnswer | undefined> = async () => upstreamAnswer): ResponderContext {
  return { zone: () => zone, forward, stats: new DnsStats() };
}

function query(name: string, type: Question['type'] = 'A', extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });
}

const edns = (udpPayloadSize: number, ednsVersion = 0): Partial<Packet> => ({
  additionals: [{ name: '.', type: 'OPT', udpPayloadSize, extendedRcode: 0, ednsVersion, flags: 0, flag_do: false, options: [] }],
});

async function ask(message: Buffer, transport: Transport = 'udp', ctx = context()): Promise<DecodedPacket & { rcode?: string }> {
  const out = await respond(message, transport, ctx);
  expect(out).toBeDefined();
  return dnsPacket.decode(out!) as DecodedPacket & { rcode?: string };
}

describe('respond', () => {
  it('answers names of the zone itself, authoritatively, echoing the ID and question', async () => {
    const answer = await ask(query('WEB.weft.internal'));
    expect(answer).toMatchObject({ id: 4242, type: 'response', rcode: 'NOERROR', flag_aa: true, flag_rd: true, flag_ra: true, flag_tc: false });
    expect(answer.questions).toEqual([{ name: 'WEB.weft.internal', type: 'A', class: 'IN' }]);
    expect(answer.answers!.map((a) => (a as { data: string }).data)).toEqual(['10.244.1.200']);
  });

  it('answers NXDOMAIN with the SOA in the authority section', async () => {
    const answer = await ask(query('nope.weft.internal'));
    expect(answer).toMatchObject({ rcode: 'NXDOMAIN', flag_aa: true, answers: [] });
    expect(answer.authorities!.map((a) => a.type)).toEqual(['SOA']);
  });

  it('forwards other names, and answers SERVFAIL when no upstream answered', async () => {
    const asked: string[] = [];
    const answer = await ask(query('example.com'), 'udp', context(async (q) => {
      asked.push(`${q.name} ${q.type}`);
      return upstreamAnswer;
    }));
    expect(asked).toEqual(['example.com A']);
    expect(answer).toMatchObject({ rcode: 'NOERROR', flag_aa: false, flag_ra: true });
    expect(answer.answers!.map((a) => (a as { data: string }).data)).toEqual(['192.0.2.7']);
    expect(await ask(query('example.com'), 'udp', context(async () => undefined))).toMatchObject({ rcode: 'SERVFAIL' });
  });

  it('truncates what does not fit the client\'s UDP size; TCP and a large EDNS size carry all of it', async () => {
    const plain = await ask(query('big.weft.internal'));
    expect(plain).toMatchObject({ flag_tc: true, answers: [] });
    expect((await ask(query('big.weft.internal'), 'tcp')).answers).toHaveLength(100);
    const large = await ask(query('big.weft.internal', 'A', edns(4096)));
    expect(large.flag_tc).toBe(false);
    expect(large.answers).toHaveLength(100);
    const small = await ask(query('big.weft.internal', 'A', edns(1232)));
    expect(small).toMatchObject({ flag_tc: true, answers: [] });
    expect(small.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232 })]);
  });

  it('speaks EDNS0: our OPT in the answer to an OPT, BADVERS for a version above 0', async () => {
    expect((await ask(query('web.weft.internal', 'A', edns(4096)))).additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232, ednsVersion: 0 })]);
    expect((await ask(query('web.weft.internal'))).additionals).toEqual([]);
    const badvers = await ask(query('web.weft.internal', 'A', edns(4096, 1)));
    expect(badvers.additionals).toEqual([expect.objectContaining({ type: 'OPT', extendedRcode: 1 })]);
    expect(badvers.answers).toEqual([]);
  });

  it('answers FORMERR, NOTIMP or REFUSED to queries it cannot take, and drops responses and scraps', async () => {
    const ctx = context();
    const twoQuestions = dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: 'a.weft.internal', type: 'A' }, { name: 'b.weft.internal', type: 'A' }] });
    expect(await ask(twoQuestions, 'udp', ctx)).toMatchObject({ id: 7, rcode: 'FORMERR' });
    const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from([0x3f, 0x61])]);
    expect(await ask(garbage, 'udp', ctx)).toMatchObject({ id: 0x1234, rcode: 'FORMERR', questions: [] });
    const status = query('web.weft.internal', 'A', { flags: 2 << 11 });
    expect(await ask(status, 'udp', ctx)).toMatchObject({ rcode: 'NOTIMP' });
    const chaos = dnsPacket.encode({ type: 'query', id: 9, questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] });
    expect(await ask(chaos, 'udp', ctx)).toMatchObject({ rcode: 'REFUSED' });
    expect(await respond(Buffer.from([1, 2, 3]), 'udp', ctx)).toBeUndefined();
    expect(await respond(dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'web.weft.internal', type: 'A' }] }), 'udp', ctx)).toBeUndefined();
    expect(ctx.stats.dropped).toBe(2);
    expect(ctx.stats.answers.get('none FORMERR')).toBe(2);
    expect(ctx.stats.answers.get('other REFUSED')).toBeUndefined();
    expect(ctx.stats.answers.get('TXT REFUSED')).toBe(1);
  });

  it('answers a query asked before from the answer kept for the zone, with the new ID, and counts it', async () => {
    const encoded = new EncodedAnswers();
    let current = zone;
    const ctx: ResponderContext = { ...context(), zone: () => current, encoded };
    const first = await respond(query('web.weft.internal'), 'udp', ctx);
    expect(encoded.size).toBe(1);
    const again = dnsPacket.encode({ type: 'query', id: 99, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'web.weft.internal', type: 'A', class: 'IN' }] });
    const second = (await respond(again, 'udp', ctx))!;
    expect(second.readUInt16BE(0)).toBe(99);
    expect(second.subarray(2)).toEqual(first!.subarray(2));
    expect(ctx.stats.answers.get('A NOERROR')).toBe(2);
    // Rotated answers are not kept, nor forwarded ones that do not say how long they stand; a new zone starts afresh.
    await respond(query('big.weft.internal', 'A', edns(4096)), 'udp', ctx);
    await respond(query('example.com'), 'udp', ctx);
    expect(encoded.size).toBe(1);
    current = new Zone({ domain: 'weft.internal', networks: [] }, 2, [], { isServing: () => true });
    expect(await ask(again, 'udp', ctx)).toMatchObject({ rcode: 'NXDOMAIN' });
  });

  it('keeps a forwarded answer from the cache until its TTLs count down', async () => {
    let now = 1000;
    const encoded = new EncodedAnswers(10, () => now);
    let asked = 0;
    const ctx: ResponderContext = { ...context(async () => ({ ...upstreamAnswer, sameUntil: 2000 + asked++ })), encoded };
    await respond(query('example.com'), 'udp', ctx);
    await respond(query('example.com'), 'udp', ctx);
    expect(asked).toBe(1);
    expect(ctx.stats.cacheHits).toBe(1);
    now = 2000;
    await respond(query('example.com'), 'udp', ctx);
    expect(asked).toBe(2);
  });

  it('never throws on random or mangled messages', async () => {
    const ctx = context();
    const valid = query('web.weft.internal', 'SRV', edns(4096));
    for (let i = 0; i < 2000; i++) {
      const message = i % 2 === 0 ? randomBytes(i % 300) : Buffer.from(valid);
      if (i % 2 === 1) for (let j = 0; j < 1 + (i % 5); j++) message[(i * 7 + j * 13) % message.length] = (i * 31 + j) & 0xff;
      await expect(respond(message, i % 3 === 0 ? 'tcp' : 'udp', ctx)).resolves.not.toThrow();
    }
  });
});
