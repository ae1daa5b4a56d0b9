// How a probe round is laid out in time, and how its verdict changes are told (pure).
//
// A round used to send every probe at its start, awaiting each datagram: at 5,000 peers, 15,000 sends in a
// row every 5 s, the event loop held for the whole burst and each peer's answer timed from a send that
// waited behind the ones before it. Instead the peers are cut into slices sent at even steps across the
// interval (less the timeout, so that the round ends before the next is due), each slice's sends issued at
// once and its verdicts taken one timeout after it: every peer is still probed once per interval, and a
// peer that dies is judged as soon after its probe as before, whatever the number of peers.
//
// A round's verdict changes are logged one by one up to a few, then summed up once at the end of the
// round ("4,990 more peers changed path health: underlay 4,990"), not one line per peer.
import type { PeerVerdict } from '../../lib/weftd-api/node-status.ts';

/** Steps between slices: small enough to spread a burst, large enough that timers cost nothing. */
export const sliceStepMs = 50;

export interface ProbeSlice {
  /** Peers [from, to) of the round's list. */
  readonly from: number;
  readonly to: number;
  /** When to send it, from the start of the round. */
  readonly atMs: number;
}

/** The slices of a round over `count` peers. */
export function probeSlices(count: number, intervalMs: number, timeoutMs: number): ProbeSlice[] {
  if (count === 0) return [];
  const windowMs = Math.max(0, intervalMs - timeoutMs - sliceStepMs);
  const steps = Math.max(1, Math.min(count, Math.floor(windowMs / sliceStepMs) + 1));
  const per = Math.ceil(count / steps);
  const slices: ProbeSlice[] = [];
  for (let i = 0, from = 0; from < count; i++, from += per) {
    slices.push({ from, to: Math.min(count, from + per), atMs: steps === 1 ? 0 : (i * windowMs) / (steps - 1) });
  }
  return slices;
}

export interface VerdictChange {
  readonly peer: string;
  readonly from: PeerVerdict;
  readonly to: PeerVerdict;
}

/** Changes logged one by one in a round; the rest are summed up at its end. */
export const changesLoggedEach = 10;

/** The summary of the changes past the first few, or undefined when there are none. */
export function summarizeChanges(changes: readonly VerdictChange[]): { msg: string; fields: Record<string, unknown> } | undefined {
  const rest = changes.slice(changesLoggedEach);
  if (rest.length === 0) return undefined;
  const byVerdict: Partial<Record<PeerVerdict, number>> = {};
  for (const change of rest) byVerdict[change.to] = (byVerdict[change.to] ?? 0) + 1;
  return {
    msg: `${rest.length} more peers changed path health this round`,
    fields: { to: byVerdict, examples: rest.slice(0, 5).map((c) => c.peer) },
  };
}
