// The embedded lease store: one JSON file (see lease-table.ts for its rules), for a single machine and for
// tests. Every write takes the flock on `<file>.lock`, reads, applies one conditional operation and replaces
// the file atomically, so daemons sharing the file never lose each other's writes. The file keeps no
// history: a watch compares what it last delivered with the file whenever the file may have changed
// (a write from this process, inotify on the directory, the next lease expiry, and a slow poll as backstop).
// Nodes' service endpoints live in the same file (its "endpoints" section), written under the same lock and
// watched the same way.
import { EventEmitter } from 'node:events';
import { watch as watchDirectory, type FSWatcher } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { JsonObject, JsonValue } from '../../lib/json/json-value.ts';
import { writeFileAtomic } from '../../lib/files/atomic-write.ts';
import { withFileLock } from '../../lib/files/file-lock.ts';
import { SerialTask } from '../serial-task.ts';
import type { Lease, LeaseSnapshot, LeaseSpec } from './lease.ts';
import {
  decodeTable, diffLeases, emptyTable, encodeTable, nextExpiry, tableConfig, tableCreate, tableDelete, tableDeleteEndpoint, tableEndpointList,
  tablePutEndpoint, tableRenew, tableReplaceEndpoints, tableSnapshot, tableUpdate, type LeaseTable, type TableResult,
} from './lease-table.ts';
import {
  NotOwnerError, type CreateOutcome, type EndpointStore, type EndpointWatchHandlers, type LeaseStore, type LeaseWatch, type WatchHandlers,
} from './store.ts';

export interface EmbeddedStoreOptions {
  readonly path: string;
  /** Wall clock in ms (tests pass their own). */
  readonly now?: () => number;
  /** Backstop poll of the file by watches, in ms (default 2000). */
  readonly pollMs?: number;
}

export class EmbeddedStore implements LeaseStore {
  private readonly path: string;
  private readonly now: () => number;
  private readonly changed = new EventEmitter();
  private readonly watches = new Set<FileWatch>();

  constructor(private readonly options: EmbeddedStoreOptions) {
    this.path = options.path;
    this.now = options.now ?? Date.now;
  }

  /** Reads the table; a missing file is an empty store. */
  async readTable(): Promise<LeaseTable> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyTable();
      throw err;
    }
    try {
      return decodeTable(JSON.parse(text) as JsonValue);
    } catch (err) {
      throw new Error(`lease file ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async mutate<T>(operation: (table: LeaseTable, now: number) => TableResult<T>): Promise<T> {
    await mkdir(dirname(this.path), { recursive: true });
    return withFileLock(`${this.path}.lock`, async () => {
      const { table, result } = operation(await this.readTable(), this.now());
      if (table) {
        await writeFileAtomic(this.path, encodeTable(table));
        this.changed.emit('change');
      }
      return result;
    });
  }

  async networkConfig(proposed?: JsonObject): Promise<JsonObject | undefined> {
    if (proposed === undefined) return (await this.readTable()).config;
    return this.mutate((table, now) => tableConfig(table, proposed, now));
  }

  async list(): Promise<LeaseSnapshot> {
    return tableSnapshot(await this.readTable(), this.now());
  }

  create(spec: LeaseSpec, ttlSeconds: number | null): Promise<CreateOutcome> {
    return this.mutate((table, now) => tableCreate(table, spec, ttlSeconds, now));
  }

  update(current: Lease, spec: LeaseSpec, ttlSeconds: number | null): Promise<Lease | undefined> {
    return this.mutate((table, now) => tableUpdate(table, current, spec, ttlSeconds, now));
  }

  renew(current: Lease): Promise<Lease | undefined> {
    return this.mutate((table, now) => tableRenew(table, current, now));
  }

  delete(current: Lease): Promise<boolean> {
    return this.mutate((table, now) => tableDelete(table, current, now));
  }

  watch(fromRevision: number, handlers: WatchHandlers): LeaseWatch {
    return this.watchFile(leaseReader(fromRevision, handlers), handlers.onRestart);
  }

  /** Reads the file with `reader` now and whenever it may have changed, until closed. */
  private watchFile(reader: TableReader, onRestart: ((reason: string) => void) | undefined): LeaseWatch {
    const source: WatchedFile = { path: this.path, read: () => this.readTable(), now: this.now };
    const watch = new FileWatch(source, reader, onRestart, this.options.pollMs ?? 2000);
    this.watches.add(watch);
    this.changed.on('change', watch.poke);
    void watch.start();
    return {
      close: async () => {
        this.changed.off('change', watch.poke);
        this.watches.delete(watch);
        await watch.close();
      },
    };
  }

  readonly endpoints: EndpointStore = {
    putEndpoint: async (owner, endpoint) => {
      if (!await this.mutate((table, now) => tablePutEndpoint(table, owner, endpoint, now))) throw new NotOwnerError(owner);
    },
    deleteEndpoint: (node, containerId) => this.mutate((table, now) => tableDeleteEndpoint(table, node, containerId, now)),
    replaceEndpoints: async (owner, endpoints) => {
      if (!await this.mutate((table, now) => tableReplaceEndpoints(table, owner, endpoints, now))) throw new NotOwnerError(owner);
    },
    watchEndpoints: (handlers) => this.watchFile(endpointReader(handlers), handlers.onRestart),
  };

  async close(): Promise<void> {
    for (const watch of this.watches) await watch.close();
    this.watches.clear();
    this.changed.removeAllListeners();
  }
}

interface WatchedFile {
  readonly path: string;
  readonly read: () => Promise<LeaseTable>;
  readonly now: () => number;
}

/**
 * What a watch does with each read of the file (`first`: the read at its start); returns when the file must
 * be read again regardless of changes (a lease expiry), if ever.
 */
type TableReader = (table: LeaseTable, now: number, first: boolean) => number | undefined;

/** Lease events: the file compared with the leases last delivered. */
function leaseReader(fromRevision: number, handlers: WatchHandlers): TableReader {
  let seen = new Map<string, Lease>();
  return (table, now, first) => {
    if (first) {
      if (table.revision === fromRevision) {
        // What the caller listed at this revision may include leases that expired since: start from every
        // entry, so that the first comparison reports those expiries.
        seen = new Map(tableSnapshot(table, Number.NEGATIVE_INFINITY).leases.map((l) => [l.subnet, l]));
      } else {
        const snapshot = tableSnapshot(table, now);
        seen = new Map(snapshot.leases.map((l) => [l.subnet, l]));
        handlers.onBatch({ kind: 'reset', reason: `the lease file is at revision ${table.revision}, not ${fromRevision}, and keeps no history`, snapshot });
      }
      return undefined;
    }
    const snapshot = tableSnapshot(table, now);
    const events = diffLeases(seen, snapshot);
    seen = new Map(snapshot.leases.map((l) => [l.subnet, l]));
    if (events.length > 0) handlers.onBatch({ kind: 'events', revision: snapshot.revision, events, invalid: snapshot.invalid });
    return nextExpiry(table, now);
  };
}

/** Every node's endpoints, delivered whole at the start and whenever they changed (a lease expiry too). */
function endpointReader(handlers: EndpointWatchHandlers): TableReader {
  let delivered: string | undefined;
  return (table, now) => {
    const { endpoints, invalid } = tableEndpointList(table, now);
    const text = JSON.stringify([endpoints, invalid]);
    if (text !== delivered) {
      delivered = text;
      handlers.onEndpoints(endpoints, invalid);
    }
    return nextExpiry(table, now);
  };
}

class FileWatch {
  private closed = false;
  private readonly comparison = new SerialTask(() => this.compare());
  private directoryWatcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: WatchedFile,
    private readonly reader: TableReader,
    private readonly onRestart: ((reason: string) => void) | undefined,
    private readonly pollMs: number,
  ) {}

  async start(): Promise<void> {
    try {
      const table = await this.file.read();
      if (this.closed) return;
      this.reader(table, this.file.now(), true);
    } catch (err) {
      this.onRestart?.(`reading the lease file: ${(err as Error).message}`);
    }
    if (this.closed) return;
    const file = basename(this.file.path);
    try {
      // The folder the first write will make: watched from now on, or that write would go unseen until a poll.
      await mkdir(dirname(this.file.path), { recursive: true });
      if (this.closed) return;
      this.directoryWatcher = watchDirectory(dirname(this.file.path), (_event, name) => {
        if (name === file) this.poke();
      });
      this.directoryWatcher.on('error', () => undefined);
    } catch {
      // No inotify (e.g. out of watches): the poll below still sees every change, only later.
    }
    this.poll = setInterval(this.poke, this.pollMs);
    this.poll.unref();
    this.poke();
  }

  /** Compares the file with what was delivered; one comparison at a time. */
  readonly poke = (): void => {
    if (!this.closed) this.comparison.run();
  };

  private async compare(): Promise<void> {
    let table: LeaseTable;
    try {
      table = await this.file.read();
    } catch (err) {
      this.onRestart?.(`reading the lease file: ${(err as Error).message}`);
      return;
    }
    if (this.closed) return;
    const now = this.file.now();
    this.scheduleExpiry(this.reader(table, now, false), now);
  }

  private scheduleExpiry(at: number | undefined, now: number): void {
    clearTimeout(this.expiryTimer);
    if (at === undefined) return;
    // A little after the expiry instant, so that the comparison sees the lease as gone.
    this.expiryTimer = setTimeout(this.poke, Math.min(at - now + 5, 2 ** 31 - 1));
    this.expiryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.directoryWatcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.expiryTimer);
    await this.comparison.idle();
  }
}
