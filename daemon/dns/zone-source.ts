// The zone as the endpoints and the node health view stand now: rebuilt on the first question after
// either changed, so a burst of endpoint changes costs one build. Each endpoint's records are derived once
// and kept while the endpoint lives (see Zone's `memo`). A build of a large zone is not free (10,000
// endpoints: tens to hundreds of ms), so after one the previous zone keeps answering for four times as long
// as the build took, at most `maxHoldMs`: under constant churn, building takes at most a fifth of the time,
// and a change is still answered within a second of it.
import type { Endpoint, EndpointSource } from '../../lib/weftd-api/endpoint.ts';
import type { NodeHealthView } from '../health/node-health.ts';
import { Zone, type EndpointRecord, type ZoneOptions } from './zone.ts';

export const maxHoldMs = 1000;

export class ZoneSource {
  private zone: Zone | undefined;
  private stale = true;
  private serial = 0;
  /** When the zone may next be rebuilt (ms, the clock's). */
  private holdUntil = 0;
  private readonly memo = new WeakMap<Endpoint, readonly EndpointRecord[]>();
  private readonly unsubscribe: Array<() => void>;

  constructor(private readonly endpoints: EndpointSource, private readonly health: NodeHealthView, private readonly options: ZoneOptions,
    private readonly now: () => number = () => performance.timeOrigin + performance.now()) {
    const invalidate = () => {
      this.stale = true;
    };
    this.unsubscribe = [endpoints.onChange(invalidate), health.onChange(invalidate)];
  }

  current(): Zone {
    const started = this.now();
    if (this.zone && (!this.stale || started < this.holdUntil)) return this.zone;
    this.stale = false;
    // The SOA serial grows with every build and with time (seconds), so it keeps growing across restarts.
    this.serial = Math.max(this.serial + 1, Math.floor(started / 1000)) % 2 ** 32;
    this.zone = new Zone(this.options, this.serial, this.endpoints.endpoints(), this.health, this.memo);
    const finished = this.now();
    this.holdUntil = finished + Math.min(maxHoldMs, 4 * (finished - started));
    return this.zone;
  }

  close(): void {
    for (const stop of this.unsubscribe) stop();
  }
}
