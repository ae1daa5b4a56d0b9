// This node's subnet lease over its lifetime, and the lease set of all nodes for whoever programs the
// data path.
//   start: acquire (own lease back if the store has one under this node's name, else the subnet the state
//          file remembers, else a random free one; a lost create race is retried), then watch the store.
//   renew: at half-life; failures are retried with backoff until the store answers.
//   lost:  when a renewal finds the lease gone or rewritten, or the watch shows it deleted or taken, the
//          lease is acquired again (the same subnet when still free) and the loss is logged and counted.
//   stop:  renewals and the watch end; the lease stays in the store until its TTL, so that a restarted
//          daemon gets its subnet back (flannel does the same: it never revokes on shutdown).
//
// Subscribers receive a `LeaseSetEvent` after acquisition and whenever the lease set or this node's lease
// changes: the whole current set plus what changed, so a consumer can reconcile from either.
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { backoffDelay, type BackoffPolicy } from '../backoff.ts';
import type { Logger } from '../log.ts';
import { SerialTask } from '../serial-task.ts';
import type { NetworkConfig } from '../network-config.ts';
import { planAcquisition } from './subnet-plan.ts';
import { sameSpec, type Lease, type LeaseAttrs, type LeaseSnapshot, type LeaseSpec } from './lease.ts';
import { LeaseSet, noChanges, type LeaseChanges } from './lease-set.ts';
import type { LeaseStore, LeaseWatch, WatchBatch } from './store.ts';

export interface LeaseSetEvent {
  /**
   * 'acquired': first event, every lease is in `changes.added`; 'peers': the watch changed the set;
   * 'resync': the store listed everything again (changes are relative to what was known);
   * 'own-lease': this node's lease was acquired again after it was lost: in another subnet (in `added`),
   * or the same one at a new revision (in `updated`; what is tied to the lease, such as endpoints, follows).
   */
  readonly reason: 'acquired' | 'peers' | 'resync' | 'own-lease';
  /** This node's lease. */
  readonly own: Lease;
  /**
   * Every node's lease, this node's included, in subnet order. Built when first read, so a consumer that
   * follows `changes` pays nothing for it: read it during the call (later it shows the set as it is then).
   */
  readonly leases: readonly Lease[];
  readonly changes: LeaseChanges;
  readonly revision: number;
}

export type LeaseSetListener = (event: LeaseSetEvent) => void;

/** Counters for /metrics; read at scrape time. */
export interface LeaseStats {
  acquisitions: number;
  renewals: number;
  renewalFailures: number;
  /** ms since the epoch of the last successful renewal. */
  lastRenewal: number | undefined;
  /** Times the lease was found revoked, deleted or taken while the daemon ran. */
  losses: number;
  watchRestarts: number;
  resyncs: number;
}

export interface LeaseManagerOptions {
  readonly store: LeaseStore;
  readonly config: NetworkConfig;
  readonly attrs: LeaseAttrs;
  /** The IPv4 subnet from the local state file, if any. */
  readonly previousSubnet?: string;
  readonly log: Logger;
  readonly random?: () => number;
  /** Delays between failed renewals; default 1 s doubling, capped at a quarter of the TTL and 30 s. */
  readonly retry?: BackoffPolicy;
}

/** A create that loses a race is retried against a fresh snapshot; this many times at most. */
const raceRetries = 10;

export class LeaseManager {
  readonly stats: LeaseStats = {
    acquisitions: 0, renewals: 0, renewalFailures: 0, lastRenewal: undefined, losses: 0, watchRestarts: 0, resyncs: 0,
  };

  private own: Lease | undefined;
  private previousSubnet: string | undefined;
  private readonly set = new LeaseSet();
  private readonly listeners = new Set<LeaseSetListener>();
  private watch: LeaseWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly maintenance = new SerialTask(() => this.step());
  private lostReason: string | undefined;
  private lastLossAt = -Infinity;
  private lossesInARow = 0;
  private attempt = 0;
  private stopped = false;
  private readonly retry: BackoffPolicy;
  private readonly random: () => number;
  private readonly log: Logger;

  constructor(private readonly options: LeaseManagerOptions) {
    this.previousSubnet = options.previousSubnet;
    this.random = options.random ?? Math.random;
    this.log = options.log;
    const ttlMs = options.config.ttlSeconds * 1000;
    this.retry = options.retry ?? { initialMs: Math.min(1000, ttlMs / 8), maxMs: Math.min(30_000, ttlMs / 4) };
  }

  /** This node's lease, once acquired. */
  get lease(): Lease | undefined {
    return this.own;
  }

  /** Every node's lease as last seen, in subnet order. */
  leases(): readonly Lease[] {
    return this.set.all();
  }

  /** Calls `listener` on every change; returns the function that unsubscribes. */
  subscribe(listener: LeaseSetListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Acquires the lease, starts watching and renewing. Rejects when no lease could be had. */
  async start(): Promise<Lease> {
    const { lease, snapshot } = await this.acquire();
    if (this.stopped) return lease;
    this.set.replace(snapshot);
    this.set.apply(ownPut(lease));
    const all = this.set.all();
    this.emit('acquired', { added: all, removed: [], updated: [] });
    this.watch = this.options.store.watch(snapshot.revision, {
      onBatch: (batch) => this.onBatch(batch),
      onRestart: (reason) => {
        this.stats.watchRestarts++;
        this.log.warn('lease watch restarting', { reason });
      },
    });
    this.schedule(this.halfLife());
    return lease;
  }

  /** Stops renewing and watching. The lease is left to expire (or to be taken back by a restart). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.maintenance.idle();
    await this.watch?.close();
    this.watch = undefined;
  }

  private spec(subnets: { subnet: string; ipv6Subnet?: string }): LeaseSpec {
    const spec: LeaseSpec = { ...this.options.attrs, subnet: subnets.subnet };
    return subnets.ipv6Subnet === undefined ? spec : { ...spec, ipv6Subnet: subnets.ipv6Subnet };
  }

  private async acquire(): Promise<{ lease: Lease; snapshot: LeaseSnapshot }> {
    const { store, config, attrs } = this.options;
    for (let attempt = 0; attempt < raceRetries; attempt++) {
      const snapshot = await store.list();
      const plan = planAcquisition({ config, snapshot, nodeName: attrs.nodeName, previousSubnet: this.previousSubnet, random: this.random });
      for (const note of plan.notes) this.log.warn(note);
      for (const stale of plan.remove) await store.delete(stale);
      let lease: Lease | undefined;
      if (plan.action === 'exhausted') {
        throw new CniError(ErrorCode.AddressUnavailable, 'no free subnet for this node', plan.notes.join('; '));
      } else if (plan.action === 'reuse') {
        // A reservation stays one; a lease gets a fresh TTL. Both get this node's current address and MAC.
        const ttl = plan.lease.expiresAt === null ? null : config.ttlSeconds;
        lease = await store.update(plan.lease, this.spec(plan.lease), ttl);
        if (lease) this.log.info('reusing this node\'s lease', { subnet: lease.subnet, reservation: ttl === null });
      } else {
        const outcome = await store.create(this.spec(plan.subnets), config.ttlSeconds);
        if (outcome.created) {
          lease = outcome.lease;
          this.log.info('acquired a new lease', { subnet: lease.subnet, ipv6Subnet: lease.ipv6Subnet, source: plan.source });
        } else {
          this.log.info('subnet taken meanwhile; choosing again', { subnet: plan.subnets.subnet, holder: outcome.existing?.nodeName });
        }
      }
      if (lease) {
        this.stats.acquisitions++;
        this.own = lease;
        this.previousSubnet = lease.subnet;
        return { lease, snapshot };
      }
    }
    throw new CniError(ErrorCode.TryAgainLater, 'could not acquire a subnet', `every one of ${raceRetries} attempts lost a race with another node`);
  }

  /** Half the time left on the lease; undefined for a reservation (nothing to renew). */
  private halfLife(): number | undefined {
    const expiresAt = this.own?.expiresAt;
    if (expiresAt === null || expiresAt === undefined) return undefined;
    return Math.max(0, (expiresAt - Date.now()) / 2);
  }

  private schedule(delayMs: number | undefined): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (delayMs === undefined || this.stopped) return;
    this.timer = setTimeout(() => this.kick(), delayMs);
  }

  /** Runs one maintenance step now, or right after the one in progress. */
  private kick(): void {
    if (!this.stopped) this.maintenance.run();
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    try {
      if (this.lostReason === undefined) await this.renew();
      if (this.lostReason !== undefined) await this.recover(this.lostReason);
      this.attempt = 0;
      this.schedule(this.halfLife());
    } catch (err) {
      if (this.lostReason === undefined) this.stats.renewalFailures++;
      const delay = backoffDelay(this.retry, this.attempt++, this.random);
      this.log.warn(this.lostReason === undefined ? 'lease renewal failed; retrying' : 'lease recovery failed; retrying', {
        error: err, retryInMs: delay, subnet: this.own?.subnet,
      });
      this.schedule(delay);
    }
  }

  private async renew(): Promise<void> {
    const own = this.own!;
    if (own.expiresAt === null) return;
    const renewed = await this.options.store.renew(own);
    if (!renewed) {
      this.markLost('renewal found the lease gone or changed in the store');
      return;
    }
    this.own = renewed;
    this.stats.renewals++;
    this.stats.lastRenewal = Date.now();
    this.log.debug('lease renewed', { subnet: renewed.subnet, expiresAt: new Date(renewed.expiresAt!).toISOString() });
  }

  private markLost(reason: string): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = reason;
    this.stats.losses++;
    this.log.error('this node\'s lease was lost; acquiring it again', { reason, subnet: this.own?.subnet });
  }

  private async recover(reason: string): Promise<void> {
    const before = this.own!;
    // A loss seen late (an old watch event) while the lease is back already needs nothing.
    const current = (await this.options.store.list()).leases.find((l) => l.subnet === before.subnet);
    if (current && current.nodeName === before.nodeName && current.revision === before.revision) {
      this.lostReason = undefined;
      return;
    }
    const { lease } = await this.acquire();
    this.lostReason = undefined;
    this.set.apply(ownPut(lease));
    if (lease.subnet === before.subnet) {
      this.log.warn('lease acquired again', { subnet: lease.subnet, reason });
      this.emit('own-lease', { added: [], removed: [], updated: [lease] });
      return;
    }
    this.log.error('this node moved to another subnet: containers started before keep addresses of the old one', {
      from: before.subnet, to: lease.subnet, reason,
    });
    this.emit('own-lease', { added: [lease], removed: [], updated: [] });
  }

  private onBatch(batch: WatchBatch): void {
    if (this.stopped || !this.own) return;
    if (batch.kind === 'reset') {
      this.stats.resyncs++;
      this.log.warn('lease watch listed the store again', { reason: batch.reason });
    }
    for (const entry of batch.kind === 'reset' ? batch.snapshot.invalid : batch.invalid) {
      this.log.warn('unreadable lease in the store; its subnet stays taken', { key: entry.key, problem: entry.problem });
    }
    const changes = this.set.apply(batch);
    if (!noChanges(changes)) this.emit(batch.kind === 'reset' ? 'resync' : 'peers', changes);
    const own = this.own;
    const held = this.set.get(own.subnet);
    if (!held) this.lose(`the store deleted lease ${own.subnet}`);
    else if (held.nodeName !== own.nodeName) this.lose(`the store gives ${own.subnet} to node ${held.nodeName}`);
    else if (held.revision > own.revision && !sameSpec(held, own)) {
      this.lose(held.publicIp === own.publicIp
        ? `lease ${own.subnet} was rewritten in the store`
        : `lease ${own.subnet} was rewritten by another daemon with this node's name (public IP ${held.publicIp}): give each node its own "nodeName"`);
    }
  }

  /**
   * Recovers at once from a loss, but backs off when losses follow each other (within a quarter of the
   * TTL): two daemons with one node name would otherwise take the lease from each other as fast as the
   * store answers.
   */
  private lose(reason: string): void {
    const now = Date.now();
    this.lossesInARow = now - this.lastLossAt < (this.options.config.ttlSeconds * 1000) / 4 ? this.lossesInARow + 1 : 0;
    this.lastLossAt = now;
    this.markLost(reason);
    clearTimeout(this.timer);
    if (this.lossesInARow === 0) this.kick();
    else this.schedule(backoffDelay(this.retry, this.lossesInARow - 1, this.random));
  }

  private emit(reason: LeaseSetEvent['reason'], changes: LeaseChanges): void {
    const set = this.set;
    const event: LeaseSetEvent = {
      reason, own: this.own!, changes, revision: set.revision,
      get leases() {
        return set.all();
      },
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.error('lease set subscriber failed', { error: err, reason });
      }
    }
  }
}

function ownPut(lease: Lease): WatchBatch {
  return { kind: 'events', revision: lease.revision, events: [{ type: 'put', lease }], invalid: [] };
}
