// A lease store in memory for tests of what uses a store: the embedded store's table rules (lease-table.ts)
// without a file, answering in microtasks so that fake timers drive it, plus what tests need to play the
// other side: failing the next calls of an operation, and changing leases behind a client's back. Endpoints
// too: their writes are recorded and can fail like the rest.
import type { JsonObject } from '../../../lib/json/json-value.ts';
import type { Lease, LeaseSnapshot, LeaseSpec } from '../lease.ts';
import {
  diffLeases, emptyTable, tableConfig, tableCreate, tableDelete, tableDeleteEndpoint, tableEndpointList, tablePutEndpoint, tableRenew,
  tableReplaceEndpoints, tableSnapshot,
  tableUpdate, type LeaseTable, type TableResult,
} from '../lease-table.ts';
import {
  NotOwnerError, type CreateOutcome, type EndpointStore, type EndpointWatchHandlers, type LeaseStore, type LeaseWatch, type WatchHandlers,
} from '../store.ts';

type Operation = 'list' | 'create' | 'update' | 'renew' | 'delete' | 'putEndpoint' | 'deleteEndpoint' | 'replaceEndpoints';

interface MemoryWatch {
  seen: Map<string, Lease>;
  handlers: WatchHandlers;
}

interface EndpointWatch {
  /** The endpoints section as last delivered (JSON). */
  delivered: string;
  handlers: EndpointWatchHandlers;
}

export class MemoryStore implements LeaseStore {
  table: LeaseTable = emptyTable();
  /** Every call, in order, for assertions ("renew 10.244.3.0/24"). */
  readonly calls: string[] = [];
  private readonly failures = new Map<Operation, number>();
  private readonly watches = new Set<MemoryWatch>();
  private readonly endpointWatches = new Set<EndpointWatch>();

  /** Makes the next `count` calls of `operation` reject, as an unreachable store would. */
  failNext(operation: Operation, count = 1): void {
    this.failures.set(operation, (this.failures.get(operation) ?? 0) + count);
  }

  /** Ends every failure set by `failNext`: the store is reachable again. */
  heal(): void {
    this.failures.clear();
  }

  private enter(operation: Operation, what = ''): void {
    this.calls.push(`${operation}${what ? ` ${what}` : ''}`);
    const left = this.failures.get(operation) ?? 0;
    if (left > 0) {
      this.failures.set(operation, left - 1);
      throw new Error(`store unavailable (${operation})`);
    }
  }

  private commit<T>({ table, result }: TableResult<T>, silent = false): T {
    if (table) {
      this.table = table;
      if (!silent) this.notify();
    }
    return result;
  }

  /** Delivers to every watch what changed since it last looked (also expiries, given the current time). */
  notify(): void {
    const snapshot = tableSnapshot(this.table, Date.now());
    for (const watch of this.watches) {
      const events = diffLeases(watch.seen, snapshot);
      watch.seen = new Map(snapshot.leases.map((l) => [l.subnet, l]));
      if (events.length > 0) watch.handlers.onBatch({ kind: 'events', revision: snapshot.revision, events, invalid: snapshot.invalid });
    }
    for (const watch of this.endpointWatches) this.deliverEndpoints(watch);
  }

  private deliverEndpoints(watch: EndpointWatch): void {
    const { endpoints, invalid } = tableEndpointList(this.table, Date.now());
    const text = JSON.stringify([endpoints, invalid]);
    if (text === watch.delivered) return;
    watch.delivered = text;
    watch.handlers.onEndpoints(endpoints, invalid);
  }

  readonly endpoints: EndpointStore = {
    putEndpoint: async (owner, endpoint) => {
      this.enter('putEndpoint', `${endpoint.node}/${endpoint.containerId}`);
      if (!this.commit(tablePutEndpoint(this.table, owner, endpoint, Date.now()))) throw new NotOwnerError(owner);
    },
    deleteEndpoint: async (node, containerId) => {
      this.enter('deleteEndpoint', `${node}/${containerId}`);
      this.commit(tableDeleteEndpoint(this.table, node, containerId, Date.now()));
    },
    replaceEndpoints: async (owner, endpoints) => {
      this.enter('replaceEndpoints', `${owner.nodeName} ${endpoints.map((e) => e.containerId).join(',')}`);
      if (!this.commit(tableReplaceEndpoints(this.table, owner, endpoints, Date.now()))) throw new NotOwnerError(owner);
    },
    watchEndpoints: (handlers) => {
      const watch: EndpointWatch = { delivered: '', handlers };
      this.endpointWatches.add(watch);
      this.deliverEndpoints(watch);
      return { close: async () => void this.endpointWatches.delete(watch) };
    },
  };

  /** Another party deletes a lease (an operator, or etcd expiring it). */
  remove(subnet: string): void {
    const lease = tableSnapshot(this.table, Date.now()).leases.find((l) => l.subnet === subnet);
    if (!lease) throw new Error(`no lease ${subnet}`);
    this.commit(tableDelete(this.table, lease, Date.now()));
  }

  /** Another party writes a lease unconditionally; `silent` hides the write from watches (events lost). */
  put(spec: LeaseSpec, ttlSeconds: number | null, silent = false): Lease {
    const current = tableSnapshot(this.table, Date.now()).leases.find((l) => l.subnet === spec.subnet);
    if (current) return this.commit(tableUpdate(this.table, current, spec, ttlSeconds, Date.now()), silent)!;
    const outcome = this.commit(tableCreate(this.table, spec, ttlSeconds, Date.now()), silent);
    if (!outcome.created) throw new Error(`cannot put ${spec.subnet}`);
    return outcome.lease;
  }

  async networkConfig(proposed?: JsonObject): Promise<JsonObject | undefined> {
    return this.commit(tableConfig(this.table, proposed, Date.now()));
  }

  async list(): Promise<LeaseSnapshot> {
    this.enter('list');
    return tableSnapshot(this.table, Date.now());
  }

  async create(spec: LeaseSpec, ttlSeconds: number | null): Promise<CreateOutcome> {
    this.enter('create', spec.subnet);
    return this.commit(tableCreate(this.table, spec, ttlSeconds, Date.now()));
  }

  async update(current: Lease, spec: LeaseSpec, ttlSeconds: number | null): Promise<Lease | undefined> {
    this.enter('update', spec.subnet);
    return this.commit(tableUpdate(this.table, current, spec, ttlSeconds, Date.now()));
  }

  async renew(current: Lease): Promise<Lease | undefined> {
    this.enter('renew', current.subnet);
    return this.commit(tableRenew(this.table, current, Date.now()));
  }

  async delete(current: Lease): Promise<boolean> {
    this.enter('delete', current.subnet);
    return this.commit(tableDelete(this.table, current, Date.now()));
  }

  watch(fromRevision: number, handlers: WatchHandlers): LeaseWatch {
    const snapshot = tableSnapshot(this.table, Date.now());
    const watch: MemoryWatch = { seen: new Map(snapshot.leases.map((l) => [l.subnet, l])), handlers };
    if (snapshot.revision !== fromRevision) handlers.onBatch({ kind: 'reset', reason: 'memory store keeps no history', snapshot });
    this.watches.add(watch);
    return { close: async () => void this.watches.delete(watch) };
  }

  async close(): Promise<void> {
    this.watches.clear();
    this.endpointWatches.clear();
  }
}
