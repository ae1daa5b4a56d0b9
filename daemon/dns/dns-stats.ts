// What weftd's DNS server counts, for /metrics (registered in attachment.ts).

/** Query types counted by name ("none": no question could be read); the rest count as "other", so a stream of odd types cannot grow the metric. */
const countedTypes = new Set(['none', 'A', 'AAAA', 'SRV', 'PTR', 'SOA', 'NS', 'CNAME', 'MX', 'TXT', 'ANY', 'HTTPS', 'SVCB']);

export class DnsStats {
  /** Answers by query type and response code ("A NOERROR"). */
  readonly answers = new Map<string, number>();
  /** Queries dropped unanswered: too short to answer, a response, or from outside the overlay. */
  dropped = 0;
  /** Questions sent to an upstream resolver (cache misses). */
  forwarded = 0;
  /** Forwarded questions that no upstream answered in time. */
  upstreamFailures = 0;
  /** Questions outside the zone answered from the cache. */
  cacheHits = 0;

  answered(type: string, rcode: string): void {
    const key = `${countedTypes.has(type) ? type : 'other'} ${rcode}`;
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
  }
}
