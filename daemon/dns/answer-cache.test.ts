import type { Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { AnswerCache, cacheTtl, type CachedAnswer } from './answer-cache.ts';

const a = (name: string, ttl: number, data = '192.0.2.1'): Answer => ({ name, type: 'A', ttl, data });
const soa = (ttl: number, minimum: number): Answer => ({
  name: 'example.com', type: 'SOA', ttl, data: { mname: 'ns.example.com', rname: 'h.example.com', serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
});
const positive = (...answers: Answer[]): CachedAnswer => ({ rcode: 'NOERROR', answers, authorities: [], additionals: [] });

describe('cacheTtl', () => {
  it('is the smallest TTL of a positive answer, the SOA\'s bound for a negative one, and 0 for what may not be kept', () => {
    expect(cacheTtl(positive(a('x', 300), a('x', 60)))).toBe(60);
    expect(cacheTtl({ rcode: 'NXDOMAIN', answers: [], authorities: [soa(3600, 30)], additionals: [] })).toBe(30);
    expect(cacheTtl({ rcode: 'NOERROR', answers: [], authorities: [soa(20, 300)], additionals: [] })).toBe(20);
    expect(cacheTtl({ rcode: 'NXDOMAIN', answers: [], authorities: [], additionals: [] })).toBe(0);
    expect(cacheTtl({ rcode: 'SERVFAIL', answers: [a('x', 300)], authorities: [], additionals: [] })).toBe(0);
    expect(cacheTtl(positive(a('x', 0)))).toBe(0);
    expect(cacheTtl(positive(a('x', 10 ** 9)))).toBe(86_400);
  });
});

describe('AnswerCache', () => {
  it('serves an answer with its TTLs counted down until it expires', () => {
    let now = 1_000_000;
    const cache = new AnswerCache(10, () => now);
    const key = AnswerCache.key('Example.COM', 'A', 'IN');
    expect(key).toBe(AnswerCache.key('example.com', 'A', 'IN'));
    expect(cache.set(key, positive(a('example.com', 60)))?.sameUntil).toBe(1_001_000);
    now += 15_500;
    expect(cache.get(key)!.answers).toEqual([a('example.com', 45)]);
    expect(cache.get(key)!.sameUntil).toBe(1_016_000);
    now += 44_500;
    expect(cache.get(key)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps nothing that may not be kept', () => {
    const cache = new AnswerCache();
    expect(cache.set('k', positive(a('x', 0)))).toBeUndefined();
    expect(cache.get('k')).toBeUndefined();
  });

  it('drops the least recently used entry past its bound', () => {
    const cache = new AnswerCache(2);
    cache.set('one', positive(a('one', 60)));
    cache.set('two', positive(a('two', 60)));
    cache.get('one');
    cache.set('three', positive(a('three', 60)));
    expect([cache.get('one'), cache.get('two'), cache.get('three')].map((e) => e !== undefined)).toEqual([true, false, true]);
  });
});
