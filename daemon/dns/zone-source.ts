// The zone as the endpoints and the node health view stand now: rebuilt on the first question after
// either changed, so a burst of endpoint changes costs one build, and a change is answered at once. Each
// endpoint's records are derived once and kept while the endpoint lives (see Zone's `memo`).
import type { Endpoint, EndpointSource } from '../../lib/weftd-api/endpoint.ts';
import { Zone, type EndpointRecord, type NodeHealthView, type ZoneOptions } from './zone.ts';

export class ZoneSource {
  private zone: Zone | undefined;
  private serial = 0;
  private readonly memo = new WeakMap<Endpoint, readonly EndpointRecord[]>();
  private readonly unsubscribe: Array<() => void>;

  constructor(private readonly endpoints: EndpointSource, private readonly health: NodeHealthView, private readonly options: ZoneOptions,
    private readonly now: () => number = Date.now) {
    const invalidate = () => {
      this.zone = undefined;
    };
    this.unsubscribe = [endpoints.onChange(invalidate), health.onChange(invalidate)];
  }

  current(): Zone {
    if (!this.zone) {
      // The SOA serial grows with every build and with time (seconds), so it keeps growing across restarts.
      this.serial = Math.max(this.serial + 1, Math.floor(this.now() / 1000)) % 2 ** 32;
      this.zone = new Zone(this.options, this.serial, this.endpoints.endpoints(), this.health, this.memo);
    }
    return this.zone;
  }

  close(): void {
    for (const stop of this.unsubscribe) stop();
  }
}
