// The cache of forwarded answers, honouring TTLs (RFC 1035 §7.4, RFC 2308 for negative answers): an entry
// lives as long as the smallest TTL among its records, a negative one as long as its SOA allows, and is
// served with its TTLs counted down. Answers that say nothing lasting (SERVFAIL, a TTL of 0, a negative
// answer without an SOA) are not kept. Bounded: past `maxEntries`, the least recently used entry goes.
import type { Answer } from 'dns-packet';

export interface CachedAnswer {
  readonly rcode: string;
  readonly answers: readonly Answer[];
  readonly authorities: readonly Answer[];
  readonly additionals: readonly Answer[];
  /** Until when (ms since the epoch) the cache gives this same answer: its TTLs count down each second. */
  readonly sameUntil?: number;
}

interface Entry {
  readonly answer: CachedAnswer;
  readonly storedAt: number;
  readonly expiresAt: number;
}

/** A day: what upstreams may ask for is capped, as resolvers cap it. */
export const maxCacheTtl = 86_400;

const ttlOf = (record: Answer): number | undefined => (record.type === 'OPT' ? undefined : record.ttl ?? 0);

/** How long `answer` may be kept, in seconds (0: not at all). */
export function cacheTtl(answer: CachedAnswer): number {
  if (answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN') return 0;
  if (answer.answers.length === 0) {
    const soa = answer.authorities.find((r) => r.type === 'SOA');
    if (!soa || soa.type !== 'SOA') return 0;
    return Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0, maxCacheTtl);
  }
  const ttls = [...answer.answers, ...answer.authorities, ...answer.additionals].map(ttlOf).filter((t) => t !== undefined);
  return Math.min(...ttls, maxCacheTtl);
}

/** The record with its TTL lowered by `elapsed` seconds. */
function aged(record: Answer, elapsed: number): Answer {
  if (record.type === 'OPT') return record;
  return { ...record, ttl: Math.max(0, (record.ttl ?? 0) - elapsed) } as Answer;
}

export class AnswerCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 10_000, private readonly now: () => number = Date.now) {}

  static key(name: string, type: string, klass: string): string {
    return `${name.toLowerCase()} ${type} ${klass}`;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The answer kept under `key` with its TTLs counted down, or undefined when there is none or it expired. */
  get(key: string): CachedAnswer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (now >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    // Touched entries move to the end: the first in the map is the least recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    const elapsed = Math.floor((now - entry.storedAt) / 1000);
    const { answer } = entry;
    return {
      rcode: answer.rcode,
      sameUntil: Math.min(entry.storedAt + (elapsed + 1) * 1000, entry.expiresAt),
      answers: answer.answers.map((r) => aged(r, elapsed)),
      authorities: answer.authorities.map((r) => aged(r, elapsed)),
      additionals: answer.additionals.map((r) => aged(r, elapsed)),
    };
  }

  /** Keeps `answer` for as long as its TTLs allow; the answer as the cache gives it now, or undefined when it may not be kept. */
  set(key: string, answer: CachedAnswer): CachedAnswer | undefined {
    const ttl = cacheTtl(answer);
    if (ttl <= 0) return undefined;
    const now = this.now();
    this.entries.delete(key);
    this.entries.set(key, { answer, storedAt: now, expiresAt: now + ttl * 1000 });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return { ...answer, sameUntil: now + 1000 };
  }
}
