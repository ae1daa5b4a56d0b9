// The zone's answers as sent, by the bytes of the query after its ID (and the transport, which bounds the
// size): a query asked before (the same name in the same case, the same flags and EDNS) is answered by
// copying the earlier answer with the new ID, without decoding, looking up or encoding again. Kept for one
// zone only: a new zone (an endpoint or node health change) starts an empty set. Only answers that do not
// vary are kept (not those that rotate a service's addresses); forwarded ones from the cache until their
// TTLs count down a second (`expiresAt`). Bounded: past `maxEntries`, it starts again empty.
import type { Zone } from './zone.ts';

export interface EncodedAnswer {
  readonly answer: Buffer;
  /** What the answer is counted as in the metrics. */
  readonly type: string;
  readonly rcode: string;
  /** When the answer stops standing (ms since the epoch); never, for the zone's own. */
  readonly expiresAt?: number;
}

export class EncodedAnswers {
  private zone: Zone | undefined;
  private readonly entries = new Map<string, EncodedAnswer>();

  constructor(private readonly maxEntries = 50_000, private readonly now: () => number = Date.now) {}

  /** The answer kept for `message` in `zone`, carrying the message's ID. */
  get(zone: Zone, transport: string, message: Buffer): EncodedAnswer | undefined {
    if (zone !== this.zone) {
      this.entries.clear();
      this.zone = zone;
      return undefined;
    }
    const key = transport + message.toString('latin1', 2);
    const kept = this.entries.get(key);
    if (!kept) return undefined;
    if (kept.expiresAt !== undefined && this.now() >= kept.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    const answer = Buffer.from(kept.answer);
    answer.writeUInt16BE(message.readUInt16BE(0), 0);
    return { ...kept, answer };
  }

  set(zone: Zone, transport: string, message: Buffer, entry: EncodedAnswer): void {
    if (zone !== this.zone) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(transport + message.toString('latin1', 2), { ...entry, answer: Buffer.from(entry.answer) });
  }

  get size(): number {
    return this.entries.size;
  }
}
