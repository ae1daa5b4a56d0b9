// The leases of every node as known from a snapshot and the watch batches after it. Pure: it turns each
// batch into what changed for a consumer (a peer appeared, went, or moved), ignoring what does not matter
// to one (a renewal's new revision or expiry).
//
// At 5,000 nodes a change must not cost a pass over every lease: the set keeps them in subnet order as it
// goes (a binary search and one splice per changed lease), and the listing handed out is built only when
// asked for, once per change.
import { sameSpec, subnetOrder, type Lease, type LeaseSnapshot } from './lease.ts';
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
  /** The leases in subnet order, and their order keys beside them. */
  private ordered: Lease[] = [];
  private keys: bigint[] = [];
  /** What all() last handed out, until the next change. */
  private listing: readonly Lease[] | undefined;
  private lastRevision = 0;

  constructor(snapshot?: LeaseSnapshot) {
    if (snapshot) this.replace(snapshot);
  }

  get revision(): number {
    return this.lastRevision;
  }

  get size(): number {
    return this.leases.size;
  }

  /** Every lease, in subnet order (the same array until the set changes: do not modify it). */
  all(): readonly Lease[] {
    this.listing ??= Object.freeze(this.ordered.slice());
    return this.listing;
  }

  get(subnet: string): Lease | undefined {
    return this.leases.get(subnet);
  }

  /** Replaces everything with a snapshot; the changes are the difference to what was known. */
  replace(snapshot: LeaseSnapshot): LeaseChanges {
    const before = this.leases;
    this.leases = new Map();
    this.ordered = [];
    this.keys = [];
    for (const lease of snapshot.leases) this.put(lease);
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
      if (event.type === 'put') this.put(event.lease);
      else this.remove(subnet);
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

  /** Where `key` is in the order, or where it would go. */
  private position(key: bigint): number {
    let low = 0;
    let high = this.keys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.keys[mid]! < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private put(lease: Lease): void {
    const key = subnetOrder(lease.subnet);
    const at = this.position(key);
    if (this.leases.has(lease.subnet)) this.ordered[at] = lease;
    else {
      this.ordered.splice(at, 0, lease);
      this.keys.splice(at, 0, key);
    }
    this.leases.set(lease.subnet, lease);
    this.listing = undefined;
  }

  private remove(subnet: string): void {
    if (!this.leases.delete(subnet)) return;
    const at = this.position(subnetOrder(subnet));
    this.ordered.splice(at, 1);
    this.keys.splice(at, 1);
    this.listing = undefined;
  }
}
