// The lease table of a store without a server (the embedded store's file): the conditional operations of
// `LeaseStore` as pure functions from (table, now) to a new table, so their rules are tested apart from the
// file and its lock. Expiry is lazy: an entry past its expiresAt reads as absent, and the next write drops it.
// One write is one revision, like one etcd transaction. A node's endpoints belong to its lease: written only
// by the current holder, they read as absent once no live lease carries the node's name, and the next write
// drops them (etcd deletes them with the lease; here they go the same lazy way as the lease itself).
import type { JsonObject, JsonValue } from '../../lib/json/json-value.ts';
import { endpointToJson, type Endpoint } from '../../lib/weftd-api/endpoint.ts';
import { endpointFromEntry } from './endpoint-entry.ts';
import { assertOwnEndpoints, type CreateOutcome, type InvalidEndpoint, type LeaseEvent } from './store.ts';
import {
  leaseRecord, sortLeases, specFromRecord, subnetKey,
  type InvalidEntry, type Lease, type LeaseRecord, type LeaseSnapshot, type LeaseSpec,
} from './lease.ts';

export interface TableEntry extends LeaseRecord {
  /** Milliseconds since the epoch; null for a reservation. */
  expiresAt: number | null;
  /** The TTL the lease was written with (a renewal restarts it), null for a reservation. */
  ttl: number | null;
  revision: number;
}

export interface LeaseTable {
  revision: number;
  config?: JsonObject;
  /** By subnet key ("10.244.3.0-24"). */
  leases: Record<string, TableEntry>;
  /**
   * Service endpoints by node, then container ID (endpointToJson). Not part of the lease revision: lease
   * watches need not hear of them.
   */
  endpoints?: Record<string, Record<string, JsonObject>>;
}

export const tableFormat = 'weft-leases/1';

export function emptyTable(): LeaseTable {
  return { revision: 0, leases: {} };
}

function live(entry: TableEntry | undefined, now: number): entry is TableEntry {
  return entry !== undefined && (entry.expiresAt === null || entry.expiresAt > now);
}

function toLease(key: string, entry: TableEntry): Lease | InvalidEntry {
  const spec = specFromRecord(key, entry);
  if (typeof spec === 'string') return { key, problem: spec };
  return { ...spec, expiresAt: entry.expiresAt, revision: entry.revision };
}

function isLease(x: Lease | InvalidEntry): x is Lease {
  return !('problem' in x);
}

/** The live leases, in subnet order. */
export function tableSnapshot(table: LeaseTable, now: number): LeaseSnapshot {
  const all = Object.entries(table.leases).filter(([, e]) => live(e, now)).map(([k, e]) => toLease(k, e));
  return {
    leases: sortLeases(all.filter(isLease)),
    revision: table.revision,
    invalid: all.filter((x): x is InvalidEntry => !isLease(x)),
  };
}

/** The endpoints of nodes that hold a live lease: the others' went with their lease. */
function ownedEndpoints(table: LeaseTable, now: number): Record<string, Record<string, JsonObject>> {
  const holders = new Set(Object.values(table.leases).filter((e) => live(e, now)).map((e) => e.nodeName));
  return Object.fromEntries(Object.entries(table.endpoints ?? {}).filter(([node]) => holders.has(node)));
}

/** `table` with `endpoints` (left out when empty). */
function withEndpoints(table: LeaseTable, endpoints: Record<string, Record<string, JsonObject>>): LeaseTable {
  const { endpoints: _old, ...rest } = table;
  return Object.keys(endpoints).length === 0 ? rest : { ...rest, endpoints };
}

/** A new table at the next revision, expired entries (and their nodes' endpoints) dropped. */
function nextTable(table: LeaseTable, now: number): LeaseTable {
  const leases = Object.fromEntries(Object.entries(table.leases).filter(([, e]) => live(e, now)));
  return withEndpoints({ ...table, revision: table.revision + 1, leases }, ownedEndpoints(table, now));
}

function expiry(ttlSeconds: number | null, now: number): number | null {
  return ttlSeconds === null ? null : now + ttlSeconds * 1000;
}

function write(table: LeaseTable, spec: LeaseSpec, ttlSeconds: number | null, now: number): { table: LeaseTable; lease: Lease } {
  const next = nextTable(table, now);
  const entry: TableEntry = { ...leaseRecord(spec), expiresAt: expiry(ttlSeconds, now), ttl: ttlSeconds, revision: next.revision };
  next.leases = { ...next.leases, [subnetKey(spec.subnet)]: entry };
  return { table: next, lease: { ...spec, expiresAt: entry.expiresAt, revision: entry.revision } };
}

/** The entry of `current` if it is live and still at `current.revision`. */
function unchanged(table: LeaseTable, current: Lease, now: number): TableEntry | undefined {
  const entry = table.leases[subnetKey(current.subnet)];
  return live(entry, now) && entry.revision === current.revision ? entry : undefined;
}

export interface TableResult<T> {
  /** Undefined when nothing was written. */
  readonly table?: LeaseTable;
  readonly result: T;
}

export function tableCreate(table: LeaseTable, spec: LeaseSpec, ttlSeconds: number | null, now: number): TableResult<CreateOutcome> {
  const key = subnetKey(spec.subnet);
  const entry = table.leases[key];
  if (live(entry, now)) {
    const existing = toLease(key, entry);
    return { result: isLease(existing) ? { created: false, existing } : { created: false } };
  }
  const written = write(table, spec, ttlSeconds, now);
  return { table: written.table, result: { created: true, lease: written.lease } };
}

export function tableUpdate(table: LeaseTable, current: Lease, spec: LeaseSpec, ttlSeconds: number | null, now: number): TableResult<Lease | undefined> {
  if (spec.subnet !== current.subnet) throw new TypeError(`update cannot move lease ${current.subnet} to ${spec.subnet}`);
  if (!unchanged(table, current, now)) return { result: undefined };
  const written = write(table, spec, ttlSeconds, now);
  return { table: written.table, result: written.lease };
}

/** Restarts the TTL; like an etcd keep-alive, the lease keeps its revision. */
export function tableRenew(table: LeaseTable, current: Lease, now: number): TableResult<Lease | undefined> {
  const entry = unchanged(table, current, now);
  if (!entry) return { result: undefined };
  if (entry.expiresAt === null || entry.ttl === null) return { result: { ...current, expiresAt: null } };
  const renewed: TableEntry = { ...entry, expiresAt: expiry(entry.ttl, now) };
  const next: LeaseTable = { ...table, leases: { ...table.leases, [subnetKey(current.subnet)]: renewed } };
  return { table: next, result: { ...current, expiresAt: renewed.expiresAt } };
}

export function tableDelete(table: LeaseTable, current: Lease, now: number): TableResult<boolean> {
  if (!unchanged(table, current, now)) return { result: false };
  const next = nextTable(table, now);
  const { [subnetKey(current.subnet)]: _removed, ...rest } = next.leases;
  next.leases = rest;
  return { table: next, result: true };
}

/** Stores `proposed` as the network config unless one is stored; returns the stored one. */
export function tableConfig(table: LeaseTable, proposed: JsonObject | undefined, now: number): TableResult<JsonObject | undefined> {
  if (table.config !== undefined || proposed === undefined) return { result: table.config };
  return { table: { ...nextTable(table, now), config: proposed }, result: proposed };
}

/** Rewrites `node`'s endpoints with `update` (dropping those of expired nodes); writes nothing when they stay the same. */
function tableEndpoints(
  table: LeaseTable, node: string, now: number, update: (current: Readonly<Record<string, JsonObject>>) => Record<string, JsonObject>,
): TableResult<void> {
  const owned = ownedEndpoints(table, now);
  const current = owned[node] ?? {};
  const next = update(current);
  const { [node]: _old, ...others } = owned;
  const endpoints = Object.keys(next).length === 0 ? others : { ...others, [node]: next };
  if (JSON.stringify(endpoints) === JSON.stringify(table.endpoints ?? {})) return { result: undefined };
  return { table: withEndpoints(table, endpoints), result: undefined };
}

/** Whether `owner` holds its lease now, unchanged (what an endpoint write of its node requires). */
function holds(table: LeaseTable, owner: Lease, now: number): boolean {
  return unchanged(table, owner, now)?.nodeName === owner.nodeName;
}

/** Adds or replaces one endpoint of `owner`'s node; false (nothing written) unless `owner` is current. */
export function tablePutEndpoint(table: LeaseTable, owner: Lease, endpoint: Endpoint, now: number): TableResult<boolean> {
  assertOwnEndpoints(owner, [endpoint]);
  if (!holds(table, owner, now)) return { result: false };
  return { ...tableEndpoints(table, owner.nodeName, now, (current) => ({ ...current, [endpoint.containerId]: endpointToJson(endpoint) })), result: true };
}

export function tableDeleteEndpoint(table: LeaseTable, node: string, containerId: string, now: number): TableResult<void> {
  return tableEndpoints(table, node, now, (current) => Object.fromEntries(Object.entries(current).filter(([id]) => id !== containerId)));
}

/** Makes `endpoints` the whole set of `owner`'s node; false (nothing written) unless `owner` is current. */
export function tableReplaceEndpoints(table: LeaseTable, owner: Lease, endpoints: readonly Endpoint[], now: number): TableResult<boolean> {
  assertOwnEndpoints(owner, endpoints);
  if (!holds(table, owner, now)) return { result: false };
  return { ...tableEndpoints(table, owner.nodeName, now, () => Object.fromEntries(endpoints.map((e) => [e.containerId, endpointToJson(e)]))), result: true };
}

/** The endpoints of every node holding a live lease, and the entries that are not valid endpoints. */
export function tableEndpointList(table: LeaseTable, now: number): { endpoints: Endpoint[]; invalid: InvalidEndpoint[] } {
  const endpoints: Endpoint[] = [];
  const invalid: InvalidEndpoint[] = [];
  for (const [node, byContainer] of Object.entries(ownedEndpoints(table, now))) {
    for (const [containerId, value] of Object.entries(byContainer)) {
      const read = endpointFromEntry(`${node}/${containerId}`, node, containerId, value);
      if ('problem' in read) invalid.push(read);
      else endpoints.push(read);
    }
  }
  return { endpoints, invalid };
}

/** The earliest expiry among live leases (when a watcher must look again), if any. */
export function nextExpiry(table: LeaseTable, now: number): number | undefined {
  let earliest: number | undefined;
  for (const entry of Object.values(table.leases)) {
    if (!live(entry, now) || entry.expiresAt === null) continue;
    if (earliest === undefined || entry.expiresAt < earliest) earliest = entry.expiresAt;
  }
  return earliest;
}

/** The events that turn lease set `before` into `after` (a delete for what vanished, a put for what is new or changed). */
export function diffLeases(before: ReadonlyMap<string, Lease>, after: LeaseSnapshot): LeaseEvent[] {
  const events: LeaseEvent[] = [];
  const now = new Map(after.leases.map((l) => [l.subnet, l]));
  for (const subnet of before.keys()) {
    if (!now.has(subnet)) events.push({ type: 'delete', subnet, revision: after.revision });
  }
  for (const lease of after.leases) {
    if (before.get(lease.subnet)?.revision !== lease.revision) events.push({ type: 'put', lease });
  }
  return events;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the file's JSON; a file this code did not write is refused, never overwritten. */
export function decodeTable(json: JsonValue): LeaseTable {
  if (!isRecord(json) || json.format !== tableFormat) throw new TypeError(`not a weft lease file (expected "format": "${tableFormat}")`);
  const { revision, leases, config, endpoints } = json;
  if (!Number.isSafeInteger(revision) || (revision as number) < 0) throw new TypeError('"revision" must be a non-negative integer');
  if (!isRecord(leases)) throw new TypeError('"leases" must be an object');
  if (config !== undefined && !isRecord(config)) throw new TypeError('"config" must be an object');
  if (endpoints !== undefined && (!isRecord(endpoints) || !Object.values(endpoints).every(isRecord))) {
    throw new TypeError('"endpoints" must be an object of objects (by node, then container ID)');
  }
  const table: LeaseTable = { revision: revision as number, leases: {} };
  if (config !== undefined) table.config = config as JsonObject;
  // Each endpoint is checked when read (endpointFromEntry): a bad one is reported and skipped.
  if (endpoints !== undefined) table.endpoints = endpoints as LeaseTable['endpoints'];
  for (const [key, entry] of Object.entries(leases)) {
    if (!isRecord(entry)) throw new TypeError(`lease ${key}: must be an object`);
    const expiresAt = entry.expiresAt;
    if (expiresAt !== null && !Number.isSafeInteger(expiresAt)) throw new TypeError(`lease ${key}: "expiresAt" must be milliseconds or null`);
    if (!Number.isSafeInteger(entry.revision)) throw new TypeError(`lease ${key}: "revision" must be an integer`);
    if ((entry.ttl === null) !== (expiresAt === null) || (entry.ttl !== null && !Number.isSafeInteger(entry.ttl))) {
      throw new TypeError(`lease ${key}: "ttl" must be seconds, or null together with "expiresAt" (a reservation)`);
    }
    // The record's own fields are checked when read (`toLease`): a bad one is reported, its subnet kept taken.
    table.leases[key] = entry as unknown as TableEntry;
  }
  return table;
}

export function encodeTable(table: LeaseTable): string {
  return `${JSON.stringify({ format: tableFormat, ...table }, null, 2)}\n`;
}
