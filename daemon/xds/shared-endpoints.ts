// The endpoints of every node, shared through the lease store: what the xDS server serves. This node's own
// come from its EndpointSet (the local API's registrations) and are written through to the store; the
// other nodes' come from the store's endpoint watch, and are served as the node health view says
// (daemon/health): left out once their node's lease is gone, unhealthy while its data path is down.
//   start: this node's stored set is replaced by the local one (stale entries from before a crash go),
//          then every local change is written as puts and deletes; a failed write is retried with backoff
//          and followed by a full replace, since what reached the store is then unknown.
//   lease: every write is tied to this node's current lease (the store drops the endpoints with it); when
//          the lease is acquired again after a loss, the set is written whole under the new one.
import { backoffDelay, type BackoffPolicy } from '../backoff.ts';
import type { Attach } from '../daemon.ts';
import type { NodeHealthView } from '../health/node-health.ts';
import type { Lease } from '../lease/lease.ts';
import type { EndpointStore, LeaseWatch } from '../lease/store.ts';
import type { Logger } from '../log.ts';
import { SerialTask } from '../serial-task.ts';
import type { EndpointSet } from './endpoint-set.ts';
import { endpointToJson, type Endpoint, type EndpointSource } from '../../lib/weftd-api/endpoint.ts';

/**
 * The served endpoints: every local one, and the stored ones of other nodes whose node is not gone, those
 * of a node found down as unhealthy (the store's copy of this node's own endpoints may lag behind the
 * local set, which is authoritative).
 */
export function servedEndpoints(local: Iterable<Endpoint>, stored: Iterable<Endpoint>, self: string, health: NodeHealthView): Endpoint[] {
  const served = [...local];
  for (const endpoint of stored) {
    if (endpoint.node === self) continue;
    const state = health.state(endpoint.node);
    if (state === 'serving') served.push(endpoint);
    else if (state === 'down') served.push({ ...endpoint, health: 'unhealthy' });
  }
  return served;
}

/** The puts and deletes that turn the `written` set into `local` (endpoints compared by their JSON). */
export function endpointWrites(written: ReadonlyMap<string, string>, local: Iterable<Endpoint>): { puts: Endpoint[]; deletes: string[] } {
  const puts: Endpoint[] = [];
  const present = new Set<string>();
  for (const endpoint of local) {
    present.add(endpoint.containerId);
    if (written.get(endpoint.containerId) !== endpointJson(endpoint)) puts.push(endpoint);
  }
  return { puts, deletes: [...written.keys()].filter((id) => !present.has(id)) };
}

function endpointJson(endpoint: Endpoint): string {
  return JSON.stringify(endpointToJson(endpoint));
}

/** What sharing needs once the daemon holds its lease. */
export interface SharingContext {
  readonly store: EndpointStore;
  /** This node's lease now: the endpoints are written tied to it. */
  readonly owner: () => Lease | undefined;
  /** Which nodes' endpoints are served, and as what. */
  readonly health: NodeHealthView;
  readonly log: Logger;
  readonly retry?: BackoffPolicy;
}

export class SharedEndpoints implements EndpointSource {
  private stored: readonly Endpoint[] = [];
  /** What this node last wrote, by container ID (JSON); undefined until a full replace succeeded. */
  private written: Map<string, string> | undefined;
  /** The lease (subnet and revision) that owns what was written: a new one gets a full replace. */
  private writtenUnder: string | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly sync = new SerialTask(() => this.write());
  private watch: LeaseWatch | undefined;
  private unsubscribe: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;
  private context: SharingContext | undefined;
  /** Whether the store's first complete view is in: other nodes' endpoints are served from then on. */
  private viewComplete = false;
  private firstView: (() => void) | undefined;

  /** Until the store's first complete view, only the local endpoints are served. */
  constructor(private readonly node: string, private readonly local: EndpointSet) {
    this.local.onChange(this.changed);
  }

  endpoints(): Iterable<Endpoint> {
    if (!this.context || !this.viewComplete) return this.local.endpoints();
    return servedEndpoints(this.local.endpoints(), this.stored, this.node, this.context.health);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes again when this node's lease changed (the endpoints follow the lease that owns them). */
  readonly leaseChanged = (): void => {
    if (this.context && !this.stopped) this.sync.run();
  };

  /** Tells the listeners that what is served changed. */
  readonly changed = (): void => {
    for (const listener of [...this.listeners]) listener();
  };

  /**
   * Starts writing this node's endpoints and watching everyone's. Resolves once the store's first complete
   * view is in (or on stop): until then nothing may be served, or a client would see this node's endpoints
   * alone and take every other service for gone.
   */
  start(context: SharingContext): Promise<void> {
    this.context = context;
    this.unsubscribe = this.local.onChange(this.sync.run);
    this.sync.run();
    return new Promise<void>((resolve) => {
      this.firstView = resolve;
      this.watch = context.store.watchEndpoints({
        onEndpoints: (endpoints, invalid) => {
          for (const entry of invalid) context.log.warn('unreadable endpoint in the store; skipped', { key: entry.key, problem: entry.problem });
          this.stored = endpoints;
          this.viewComplete = true;
          this.changed();
          resolve();
        },
        onRestart: (reason) => context.log.warn('endpoint watch restarting', { reason }),
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.firstView?.();
    this.unsubscribe?.();
    await this.sync.idle();
    clearTimeout(this.retryTimer);
    await this.watch?.close();
  }

  private async write(): Promise<void> {
    if (this.stopped || !this.context) return;
    const { store, log, retry } = this.context;
    const node = this.node;
    const endpoints = [...this.local.endpoints()];
    try {
      const owner = this.context.owner();
      if (!owner) throw new Error('this node holds no lease');
      const ownerKey = `${owner.subnet}@${owner.revision}`;
      if (this.written === undefined || this.writtenUnder !== ownerKey) {
        await store.replaceEndpoints(owner, endpoints);
      } else {
        const { puts, deletes } = endpointWrites(this.written, endpoints);
        for (const endpoint of puts) await store.putEndpoint(owner, endpoint);
        for (const containerId of deletes) await store.deleteEndpoint(node, containerId);
      }
      this.written = new Map(endpoints.map((e) => [e.containerId, endpointJson(e)]));
      this.writtenUnder = ownerKey;
      this.attempt = 0;
    } catch (err) {
      this.written = undefined;
      const delay = backoffDelay(retry ?? { initialMs: 500, maxMs: 15_000 }, this.attempt++);
      log.warn('writing this node\'s endpoints to the store failed; retrying', { error: err, retryInMs: delay });
      this.retryTimer = setTimeout(this.sync.run, delay);
    }
  }
}

/**
 * Shares this node's endpoints through the daemon's store and serves everyone's through `shared` (the xDS
 * server's source), as `health` says.
 */
export function sharedEndpointsAttachment(shared: SharedEndpoints, health: NodeHealthView): Attach {
  return async (context) => {
    const unsubscribeHealth = health.onChange(shared.changed);
    const unsubscribeLeases = context.leases.subscribe((event) => {
      if (event.reason === 'own-lease') shared.leaseChanged();
    });
    // Attachments start in order and readiness follows them: the xDS server, after this one, serves nothing
    // and /readyz says not ready until the whole picture is in.
    const started = shared.start({
      store: context.store.endpoints, owner: () => context.leases.lease, health, log: context.log.child({ component: 'endpoints' }),
    });
    const giveUp = () => void shared.stop();
    context.signal.addEventListener('abort', giveUp, { once: true });
    try {
      await started;
    } finally {
      context.signal.removeEventListener('abort', giveUp);
    }
    return {
      stop: async () => {
        unsubscribeHealth();
        unsubscribeLeases();
        await shared.stop();
      },
    };
  };
}
