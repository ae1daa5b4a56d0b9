// The leases of every node as known from a snapshot and the watch batches after it. Pure: it turns each
// batch into what changed for a consumer (a peer appeared, went, or moved), ignoring what does not matter
// to one (a renewal's new revision or expiry).
import { sameSpec, sortLeases, type Lease, type LeaseSnapshot } from './lease.ts';
import type { WatchBatch } from './store.ts';

export interface LeaseChanges {
  readonly added: readonly Lease[];
  readonly removed: readonly Lease[];
  /** Leases whose published fields changed (address, MAC, node); the new version. */
  readonly updated: readonly Lease[];
}

export function noChanges(changes: LeaseChanges): boolean {
  return changes.added.length === 0 && changes.removed.length === 0 && changes.updated.length === 0;
}

export class LeaseSet {
  private leases = new Map<string, Lease>();
  private lastRevision = 0;

  constructor(snapshot?: LeaseSnapshot) {
    if (snapshot) this.replace(snapshot);
  }

  get revision(): number {
    return this.lastRevision;
  }

  /** Every lease, in subnet order. */
  all(): Lease[] {
    return sortLeases([...this.leases.values()]);
  }

  get(subnet: string): Lease | undefined {
    return this.leases.get(subnet);
  }

  /** Replaces everything with a snapshot; the changes are the difference to what was known. */
  replace(snapshot: LeaseSnapshot): LeaseChanges {
    const before = this.leases;
    this.leases = new Map(snapshot.leases.map((l) => [l.subnet, l]));
    this.lastRevision = snapshot.revision;
    const added: Lease[] = [];
    const updated: Lease[] = [];
    for (const lease of this.leases.values()) {
      const old = before.get(lease.subnet);
      if (!old) added.push(lease);
      else if (!sameSpec(old, lease)) updated.push(lease);
    }
    const removed = [...before.values()].filter((l) => !this.leases.has(l.subnet));
    return { added, removed, updated };
  }

  apply(batch: WatchBatch): LeaseChanges {
    if (batch.kind === 'reset') return this.replace(batch.snapshot);
    // Each touched subnet's version before the batch: the changes compare first with last.
    const before = new Map<string, Lease | undefined>();
    for (const event of batch.events) {
      const subnet = event.type === 'put' ? event.lease.subnet : event.subnet;
      if (!before.has(subnet)) before.set(subnet, this.leases.get(subnet));
      if (event.type === 'put') this.leases.set(subnet, event.lease);
      else this.leases.delete(subnet);
    }
    this.lastRevision = Math.max(this.lastRevision, batch.revision);
    const added: Lease[] = [];
    const removed: Lease[] = [];
    const updated: Lease[] = [];
    for (const [subnet, old] of before) {
      const now = this.leases.get(subnet);
      if (!old && now) added.push(now);
      else if (old && !now) removed.push(old);
      else if (old && now && !sameSpec(old, now)) updated.push(now);
    }
    return { added, removed, updated };
  }
}
