// The seam between lease logic and where leases live. Two implementations: an embedded store (one JSON
// file, for a single machine and for tests) and etcd (v3, for many machines). Every write is conditional,
// so that two nodes never both hold a subnet and a node never overwrites a lease it has not seen.
import type { JsonObject } from '../../lib/cni/types.ts';
import type { InvalidEntry, Lease, LeaseSnapshot, LeaseSpec } from './lease.ts';

export type CreateOutcome =
  | { readonly created: true; readonly lease: Lease }
  /** The subnet is taken; `existing` is its holder when it could be read. */
  | { readonly created: false; readonly existing?: Lease };

/** One change of one lease, in store order. */
export type LeaseEvent =
  | { readonly type: 'put'; readonly lease: Lease }
  | { readonly type: 'delete'; readonly subnet: string; readonly revision: number };

/**
 * What a watch delivers: changes since the last batch, or (when the store could not replay its history,
 * e.g. etcd compacted it, or the watch is older than the embedded file's current revision) the whole
 * lease set again. After a reset the consumer replaces what it knew.
 */
export type WatchBatch =
  | { readonly kind: 'events'; readonly revision: number; readonly events: readonly LeaseEvent[]; readonly invalid: readonly InvalidEntry[] }
  | { readonly kind: 'reset'; readonly reason: string; readonly snapshot: LeaseSnapshot };

export interface WatchHandlers {
  readonly onBatch: (batch: WatchBatch) => void;
  /** The watch lost its connection and is resuming (for logs and metrics); nothing is lost by it. */
  readonly onRestart?: (reason: string) => void;
}

export interface LeaseWatch {
  close(): Promise<void>;
}

export interface LeaseStore {
  /**
   * The network config kept with the leases. With `proposed`, it is stored unless one already is; either
   * way the stored one is returned, so the caller can compare. Undefined when none is stored or proposed.
   */
  networkConfig(proposed?: JsonObject): Promise<JsonObject | undefined>;
  list(): Promise<LeaseSnapshot>;
  /** Creates the lease unless its subnet is held. `ttlSeconds` null makes a reservation (no expiry). */
  create(spec: LeaseSpec, ttlSeconds: number | null): Promise<CreateOutcome>;
  /**
   * Rewrites `current` (same subnet) with `spec` and a fresh TTL, if the lease is still at
   * `current.revision`. Undefined when it changed or is gone.
   */
  update(current: Lease, spec: LeaseSpec, ttlSeconds: number | null): Promise<Lease | undefined>;
  /** Restarts the TTL of `current` if it is unchanged; undefined when it changed, is gone or expired. */
  renew(current: Lease): Promise<Lease | undefined>;
  /** Deletes `current` if it is unchanged; false when it changed or is gone. */
  delete(current: Lease): Promise<boolean>;
  /** Delivers every change after `fromRevision` (exclusive), in order, until closed. */
  watch(fromRevision: number, handlers: WatchHandlers): LeaseWatch;
  close(): Promise<void>;
}
