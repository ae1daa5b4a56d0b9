// The seam between lease logic and where leases live. Two implementations: an embedded store (one JSON
// file, for a single machine and for tests) and etcd (v3, for many machines). Every write is conditional,
// so that two nodes never both hold a subnet and a node never overwrites a lease it has not seen.
import type { JsonObject } from '../../lib/json/json-value.ts';
import type { Endpoint } from '../../lib/weftd-api/endpoint.ts';
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
  /** Where nodes share their service endpoints. */
  readonly endpoints: EndpointStore;
  close(): Promise<void>;
}

/** A stored endpoint that could not be read (skipped, reported for logs). */
export interface InvalidEndpoint {
  readonly key: string;
  readonly problem: string;
}

export interface EndpointWatchHandlers {
  /** The endpoints of every node as stored now, after each change (and once at the start). */
  readonly onEndpoints: (endpoints: readonly Endpoint[], invalid: readonly InvalidEndpoint[]) => void;
  /** The watch lost its connection or history and is resuming (for logs); nothing is lost by it. */
  readonly onRestart?: (reason: string) => void;
}

/**
 * The service endpoints of every node, kept beside the leases so that each node's xDS server can serve the
 * whole cluster. A node writes only its own, each tied to the lease that owns it (its node's): when that
 * lease expires or is deleted, its endpoints go with it, so an expired node leaves nothing behind. A node
 * taking its lease back (a restart) keeps them throughout.
 */
export interface EndpointStore {
  /** Adds or replaces one endpoint of `owner`'s node; rejects with NotOwnerError unless `owner` is current. */
  putEndpoint(owner: Lease, endpoint: Endpoint): Promise<void>;
  deleteEndpoint(node: string, containerId: string): Promise<void>;
  /**
   * Makes `endpoints` the whole stored set of `owner`'s node (what was stored before and is not in it
   * goes); rejects with NotOwnerError unless `owner` is current.
   */
  replaceEndpoints(owner: Lease, endpoints: readonly Endpoint[]): Promise<void>;
  watchEndpoints(handlers: EndpointWatchHandlers): LeaseWatch;
}

/** An endpoint write for a lease that changed, expired or is gone: the writer must use its current lease. */
export class NotOwnerError extends Error {
  constructor(owner: Lease) {
    super(`lease ${owner.subnet} of node ${owner.nodeName} is not current (changed, expired or gone): endpoints not written`);
    this.name = 'NotOwnerError';
  }
}

/** Refuses an endpoint that is not of `owner`'s node (a node writes only its own). */
export function assertOwnEndpoints(owner: Lease, endpoints: readonly Endpoint[]): void {
  const other = endpoints.find((e) => e.node !== owner.nodeName);
  if (other) throw new TypeError(`endpoint ${other.containerId} is of node ${other.node}, not of ${owner.nodeName}`);
}
