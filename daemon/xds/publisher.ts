// Keeps the resource cache in step with an endpoint source: rebuilds the snapshot after changes, a burst of
// changes (a node starting 100 containers, a store watch replaying) coalesced into one rebuild.
import type { EndpointSource } from '../../lib/weftd-api/endpoint.ts';
import type { ResourceCache } from './resource-cache.ts';
import { SnapshotBuilder } from './snapshot.ts';
import type { XdsLogger } from './logger.ts';

/** How long after a change the rebuild waits for more; well inside the one-second push target. */
export const defaultCoalesceMs = 10;

export class EndpointPublisher {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastSkipped = new Set<string>();
  private readonly builder = new SnapshotBuilder();

  constructor(
    private readonly source: EndpointSource,
    private readonly cache: ResourceCache,
    private readonly logger: XdsLogger,
    private readonly coalesceMs = defaultCoalesceMs,
  ) {}

  /** Publishes the current endpoints and follows their changes. */
  start(): void {
    this.unsubscribe ??= this.source.onChange(() => {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.publish();
      }, this.coalesceMs);
    });
    this.publish();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Rebuilds now. A failure is logged and the cache keeps serving what it had. */
  publish(): void {
    try {
      const { snapshot, skipped } = this.builder.build(this.source.endpoints());
      // Each skip is logged when it first appears, not on every rebuild.
      const now = new Set<string>();
      for (const { endpoint, reason } of skipped) {
        const key = `${endpoint.containerId}\0${reason}`;
        now.add(key);
        if (!this.lastSkipped.has(key)) {
          this.logger.warn('xds: endpoint not served', { service: endpoint.service, containerId: endpoint.containerId, reason });
        }
      }
      this.lastSkipped = now;
      this.cache.set(snapshot);
    } catch (err) {
      this.logger.warn('xds: snapshot not published, still serving the previous one', { error: String(err) });
    }
  }
}
