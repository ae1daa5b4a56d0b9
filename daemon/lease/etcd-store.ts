// The etcd (v3 API) lease store. Keys: `<prefix>/config` holds the network config, `<prefix>/subnets/<key>`
// one lease each ("10.244.3.0-24" → JSON record). A lease's TTL is an etcd lease attached to its key, so
// etcd itself deletes the key of a node that stopped renewing, and every watcher sees the delete. The
// record also says the TTL it was granted ("ttl", seconds): a listing reads every lease with its expiry in
// one range read (at 5,000 nodes, asking etcd each lease's time to live took 5,000 calls and 1.9 s of
// start-up). A renewal is a keep-alive, which no reader sees, so a listed lease expires at the latest a TTL
// from the read; the exact time is asked only of records without "ttl" (written by an older weftd).
//   create: a transaction putting the key only if it was never created (create_revision = 0);
//   update/delete: transactions conditional on the key's mod_revision;
//   renew: a keep-alive of the key's etcd lease (no new revision, so peers' watches stay quiet).
// Watches resume from the last revision seen after a reconnect (the etcd3 client does that); when etcd has
// compacted that revision away the watch is cancelled, and the store lists again and starts over.
// Endpoints: `<prefix>/endpoints/<node>/<containerId>`, the endpoint's JSON (endpointToJson), written by
// that node only, each attached to the etcd lease of its node's lease key (in a transaction conditional on
// that key's revision): etcd deletes them with the lease, so an expired node leaves nothing. An update that
// moves a lease key to a new etcd lease (a restart taking its lease back) moves the node's endpoints to it
// before revoking the old one, so they never vanish from peers' views meanwhile.
import { Etcd3, Range, type ICompare, type IKeyValue, type IOptions, type IResponseHeader, type Watcher } from 'etcd3';
import type { JsonObject, JsonValue } from '../../lib/json/json-value.ts';
import { backoffDelay, type BackoffPolicy } from '../backoff.ts';
import {
  leaseRecord, notASubnetKey, sortLeases, specFromRecord, subnetFromKey, subnetKey,
  type InvalidEntry, type Lease, type LeaseSnapshot, type LeaseSpec,
} from './lease.ts';
import { endpointToJson, type Endpoint } from '../../lib/weftd-api/endpoint.ts';
import { endpointFromEntry } from './endpoint-entry.ts';
import type {
  CreateOutcome, EndpointStore, EndpointWatchHandlers, InvalidEndpoint, LeaseEvent, LeaseStore, LeaseWatch, WatchHandlers,
} from './store.ts';
import { assertOwnEndpoints, NotOwnerError } from './store.ts';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. http://10.0.0.1:2379. */
  readonly endpoints: readonly string[];
  /** Key prefix, e.g. /weft/network. */
  readonly prefix: string;
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  readonly auth?: { readonly username: string; readonly password: string };
  /** Deadline of each unary call (default 5 s). */
  readonly callTimeoutMs?: number;
  /** Retries of a watch stream that lost its member (default 100 ms doubling to 5 s). */
  readonly watchBackoff?: BackoffPolicy;
  readonly now?: () => number;
}

/** The shape of the etcd3 client's backoff (cockatiel's IBackoff). */
interface WatchBackoff {
  readonly duration: number;
  next(): WatchBackoff;
}

function watchBackoff(policy: BackoffPolicy, attempt = 0): WatchBackoff {
  return { duration: backoffDelay(policy, attempt), next: () => watchBackoff(policy, attempt + 1) };
}

const noLease = '0';

/** A lease's value: its record, and the TTL it was granted (none for a reservation). */
function storedRecord(spec: LeaseSpec, ttlSeconds: number | null): Buffer {
  return Buffer.from(JSON.stringify(ttlSeconds === null ? leaseRecord(spec) : { ...leaseRecord(spec), ttl: ttlSeconds }));
}
const revisionOf = (header: IResponseHeader): number => Number(header.revision);

export class EtcdStore implements LeaseStore {
  private readonly client: Etcd3;
  private readonly configKey: string;
  private readonly subnetsPrefix: string;
  private readonly endpointsPrefix: string;
  private readonly now: () => number;
  private readonly callTimeoutMs: number;
  private readonly endpointCount: number;
  private readonly watches = new Set<PrefixWatch>();
  readonly endpoints: EndpointStore;

  constructor(options: EtcdStoreOptions) {
    const prefix = options.prefix.replace(/\/+$/, '');
    this.configKey = `${prefix}/config`;
    this.subnetsPrefix = `${prefix}/subnets/`;
    this.now = options.now ?? Date.now;
    const callTimeoutMs = options.callTimeoutMs ?? 5000;
    this.callTimeoutMs = callTimeoutMs;
    this.endpointCount = options.endpoints.length;
    const clientOptions: IOptions = {
      hosts: [...options.endpoints],
      dialTimeout: callTimeoutMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      faultHandling: { watchBackoff: watchBackoff(options.watchBackoff ?? { initialMs: 100, maxMs: 5000 }) },
    };
    if (options.tls) {
      clientOptions.credentials = { rootCertificate: options.tls.ca, privateKey: options.tls.key, certChain: options.tls.cert };
    }
    if (options.auth) clientOptions.auth = { ...options.auth };
    this.client = new Etcd3(clientOptions);
    this.endpointsPrefix = `${prefix}/endpoints/`;
    this.endpoints = new EtcdEndpoints(this.client, this.endpointsPrefix, (owner) => this.ownerCondition(owner), (handlers) => {
      const watch = new PrefixWatch(this.client, this.endpointsPrefix, handlers);
      watch.startWithList();
      return this.track(watch);
    });
  }

  /** The etcd lease of `owner`'s key and the comparison that holds while `owner` is current; NotOwnerError if it is not now. */
  private async ownerCondition(owner: Lease): Promise<OwnerCondition> {
    const key = this.keyOf(owner.subnet);
    const kv = (await this.client.kv.range({ key })).kvs[0];
    if (!kv || Number(kv.mod_revision) !== owner.revision) throw new NotOwnerError(owner);
    return { lease: kv.lease, compare: { key, target: 'Mod', result: 'Equal', mod_revision: owner.revision } };
  }

  /** Attaches `node`'s endpoint keys held by etcd lease `from` to `to` (same values). */
  private async moveEndpoints(node: string, from: string, to: string): Promise<void> {
    const range = Range.prefix(`${this.endpointsPrefix}${node}/`);
    const held = (await this.client.kv.range({ key: range.start, range_end: range.end })).kvs.filter((kv) => kv.lease === from);
    const ops = held.map((kv) => ({ request_put: { key: kv.key, value: kv.value, lease: to } }));
    for (let i = 0; i < ops.length; i += opsPerTxn) await this.client.kv.txn({ compare: [], success: ops.slice(i, i + opsPerTxn) });
  }

  private keyOf(subnet: string): Buffer {
    return Buffer.from(this.subnetsPrefix + subnetKey(subnet));
  }

  /** Seconds left of an etcd lease; -1 when it is gone. */
  private async timeToLive(id: string): Promise<number> {
    return Number((await this.client.leaseClient.leaseTimeToLive({ ID: id })).TTL);
  }

  /**
   * One keep-alive. A keep-alive is a stream, which the client opens on one member and does not move to
   * another when that member is down (unary calls it does move): so try a few streams, each on a member
   * picked at random. Streams have no deadline, so each gets the unary one.
   */
  private async keepAlive(id: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.keepAliveOnce(id);
      } catch (err) {
        if (attempt > this.endpointCount) throw err;
      }
    }
  }

  private async keepAliveOnce(id: string): Promise<number> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = new Promise<number>((resolve, reject) => {
        stream.on('data', (res) => resolve(Number(res.TTL)));
        stream.on('error', reject);
        stream.on('end', () => reject(new Error('etcd closed the keep-alive stream')));
        timer = setTimeout(() => reject(new Error(`no keep-alive answer within ${this.callTimeoutMs} ms`)), this.callTimeoutMs);
      });
      stream.write({ ID: id });
      return await answer;
    } finally {
      clearTimeout(timer);
      stream.end();
    }
  }

  private async revoke(id: string): Promise<void> {
    if (id === noLease) return;
    // Best effort: a lease nobody revokes expires by itself, taking only keys still attached to it.
    await this.client.leaseClient.leaseRevoke({ ID: id }).catch(() => undefined);
  }

  private async grant(ttlSeconds: number | null): Promise<{ id: string; expiresAt: number | null }> {
    if (ttlSeconds === null) return { id: noLease, expiresAt: null };
    const granted = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds });
    return { id: granted.ID, expiresAt: this.now() + Number(granted.TTL) * 1000 };
  }

  /** A stored key-value as a lease (its expiry from its record's TTL, else its etcd lease), or what is wrong with it. */
  private async decode(kv: IKeyValue, ttls: Map<string, Promise<number>>): Promise<Lease | InvalidEntry> {
    const key = kv.key.toString().slice(this.subnetsPrefix.length);
    let value: unknown;
    try {
      value = JSON.parse(kv.value.toString());
    } catch {
      return { key, problem: 'value is not JSON' };
    }
    const spec = specFromRecord(key, value);
    if (typeof spec === 'string') return { key, problem: spec };
    let expiresAt: number | null = null;
    const recorded = (value as { ttl?: unknown }).ttl;
    if (kv.lease !== noLease && Number.isSafeInteger(recorded) && (recorded as number) > 0) {
      expiresAt = this.now() + (recorded as number) * 1000;
    } else if (kv.lease !== noLease) {
      if (!ttls.has(kv.lease)) ttls.set(kv.lease, this.timeToLive(kv.lease));
      expiresAt = this.now() + Math.max(0, await ttls.get(kv.lease)!) * 1000;
    }
    return { ...spec, expiresAt, revision: Number(kv.mod_revision) };
  }

  async networkConfig(proposed?: JsonObject): Promise<JsonObject | undefined> {
    const key = Buffer.from(this.configKey);
    let kv: IKeyValue | undefined;
    if (proposed === undefined) {
      kv = (await this.client.kv.range({ key })).kvs[0];
    } else {
      const res = await this.client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value: Buffer.from(JSON.stringify(proposed)) } }],
        failure: [{ request_range: { key } }],
      });
      if (res.succeeded) return proposed;
      kv = res.responses[0]?.response_range.kvs[0];
    }
    if (!kv) return undefined;
    try {
      return JSON.parse(kv.value.toString()) as JsonObject;
    } catch {
      throw new Error(`etcd key ${this.configKey} does not hold JSON`);
    }
  }

  async list(): Promise<LeaseSnapshot> {
    const range = Range.prefix(this.subnetsPrefix);
    const res = await this.client.kv.range({ key: range.start, range_end: range.end });
    const ttls = new Map<string, Promise<number>>();
    const decoded = await Promise.all(res.kvs.map((kv) => this.decode(kv, ttls)));
    return {
      leases: sortLeases(decoded.filter((x): x is Lease => !('problem' in x))),
      revision: revisionOf(res.header),
      invalid: decoded.filter((x): x is InvalidEntry => 'problem' in x),
    };
  }

  async create(spec: LeaseSpec, ttlSeconds: number | null): Promise<CreateOutcome> {
    const key = this.keyOf(spec.subnet);
    const lease = await this.grant(ttlSeconds);
    try {
      const res = await this.client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value: storedRecord(spec, ttlSeconds), lease: lease.id } }],
        failure: [{ request_range: { key } }],
      });
      if (res.succeeded) return { created: true, lease: { ...spec, expiresAt: lease.expiresAt, revision: revisionOf(res.header) } };
      await this.revoke(lease.id);
      const kv = res.responses[0]?.response_range.kvs[0];
      const existing = kv ? await this.decode(kv, new Map()) : undefined;
      return existing && !('problem' in existing) ? { created: false, existing } : { created: false };
    } catch (err) {
      // The outcome is unknown; revoking removes the key if the put did happen, which is safe either way.
      await this.revoke(lease.id);
      throw err;
    }
  }

  async update(current: Lease, spec: LeaseSpec, ttlSeconds: number | null): Promise<Lease | undefined> {
    if (spec.subnet !== current.subnet) throw new TypeError(`update cannot move lease ${current.subnet} to ${spec.subnet}`);
    const key = this.keyOf(spec.subnet);
    const lease = await this.grant(ttlSeconds);
    try {
      const res = await this.client.kv.txn({
        compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: current.revision }],
        success: [{ request_put: { key, value: storedRecord(spec, ttlSeconds), lease: lease.id, prev_kv: true } }],
      });
      if (!res.succeeded) {
        await this.revoke(lease.id);
        return undefined;
      }
      const previous = res.responses[0]?.response_put.prev_kv?.lease;
      if (previous && previous !== lease.id) {
        // Revoking first would delete the node's endpoints until it writes them again. When they cannot be
        // moved now, the old lease is left to expire: its owner rewrites them under the new one meanwhile.
        const moved = previous === noLease || await this.moveEndpoints(spec.nodeName, previous, lease.id).then(() => true, () => false);
        if (moved) await this.revoke(previous);
      }
      return { ...spec, expiresAt: lease.expiresAt, revision: revisionOf(res.header) };
    } catch (err) {
      await this.revoke(lease.id);
      throw err;
    }
  }

  async renew(current: Lease): Promise<Lease | undefined> {
    const kv = (await this.client.kv.range({ key: this.keyOf(current.subnet) })).kvs[0];
    if (!kv || Number(kv.mod_revision) !== current.revision) return undefined;
    if (kv.lease === noLease) return { ...current, expiresAt: null };
    const ttl = await this.keepAlive(kv.lease);
    return ttl > 0 ? { ...current, expiresAt: this.now() + ttl * 1000 } : undefined;
  }

  async delete(current: Lease): Promise<boolean> {
    const key = this.keyOf(current.subnet);
    const res = await this.client.kv.txn({
      compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: current.revision }],
      success: [{ request_delete_range: { key, prev_kv: true } }],
    });
    if (!res.succeeded) return false;
    const previous = res.responses[0]?.response_delete_range.prev_kvs[0]?.lease;
    if (previous) await this.revoke(previous);
    return true;
  }

  /** Turns one watch response into lease events, in order. */
  async eventsOf(events: readonly { type: string; kv: IKeyValue }[]): Promise<{ events: LeaseEvent[]; invalid: InvalidEntry[] }> {
    const ttls = new Map<string, Promise<number>>();
    const out: LeaseEvent[] = [];
    const invalid: InvalidEntry[] = [];
    for (const event of events) {
      const key = event.kv.key.toString().slice(this.subnetsPrefix.length);
      const subnet = subnetFromKey(key);
      const revision = Number(event.kv.mod_revision);
      if (subnet === undefined) {
        invalid.push({ key, problem: notASubnetKey(key) });
        continue;
      }
      if (event.type === 'Delete') {
        out.push({ type: 'delete', subnet, revision });
        continue;
      }
      const lease = await this.decode(event.kv, ttls);
      if ('problem' in lease) {
        // A lease overwritten with garbage is gone for peers; its subnet stays taken for allocation.
        invalid.push(lease);
        out.push({ type: 'delete', subnet, revision });
      } else {
        out.push({ type: 'put', lease });
      }
    }
    return { events: out, invalid };
  }

  watch(fromRevision: number, handlers: WatchHandlers): LeaseWatch {
    const watch = new PrefixWatch(this.client, this.subnetsPrefix, {
      onEvents: async (events, revision) => handlers.onBatch({ kind: 'events', revision, ...(await this.eventsOf(events)) }),
      relist: async () => {
        const snapshot = await this.list();
        handlers.onBatch({ kind: 'reset', reason: 'the watch could not resume from its revision', snapshot });
        return snapshot.revision;
      },
      ...(handlers.onRestart ? { onRestart: handlers.onRestart } : {}),
    });
    watch.start(fromRevision);
    return this.track(watch);
  }

  private track(watch: PrefixWatch): LeaseWatch {
    this.watches.add(watch);
    return {
      close: async () => {
        this.watches.delete(watch);
        await watch.close();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.close()));
    this.watches.clear();
    this.client.close();
  }
}

/** Puts and deletes per transaction when replacing a node's endpoints (etcd refuses more than 128). */
const opsPerTxn = 100;

/** The endpoint under `key` (`<node>/<containerId>` below the endpoints prefix), or what is wrong with it. */
function endpointFromKv(key: string, value: Buffer): Endpoint | InvalidEndpoint {
  const [node, containerId, ...rest] = key.split('/');
  if (!node || !containerId || rest.length > 0) return { key, problem: 'key is not <node>/<containerId>' };
  let json: JsonValue;
  try {
    json = JSON.parse(value.toString()) as JsonValue;
  } catch {
    return { key, problem: 'value is not JSON' };
  }
  return endpointFromEntry(key, node, containerId, json);
}

/** What an endpoint write of an owner needs: its etcd lease, and the comparison that it is still current. */
interface OwnerCondition {
  readonly lease: string;
  readonly compare: ICompare;
}

class EtcdEndpoints implements EndpointStore {
  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly ownerCondition: (owner: Lease) => Promise<OwnerCondition>,
    /** Starts a tracked watch of this prefix that lists first. */
    private readonly watchPrefix: (handlers: PrefixWatchHandlers) => LeaseWatch,
  ) {}

  private keyOf(node: string, containerId: string): string {
    return `${this.prefix}${node}/${containerId}`;
  }

  private putOp(endpoint: Endpoint, lease: string) {
    return { request_put: { key: Buffer.from(this.keyOf(endpoint.node, endpoint.containerId)), value: Buffer.from(JSON.stringify(endpointToJson(endpoint))), lease } };
  }

  async putEndpoint(owner: Lease, endpoint: Endpoint): Promise<void> {
    assertOwnEndpoints(owner, [endpoint]);
    const { lease, compare } = await this.ownerCondition(owner);
    const res = await this.client.kv.txn({ compare: [compare], success: [this.putOp(endpoint, lease)] });
    if (!res.succeeded) throw new NotOwnerError(owner);
  }

  async deleteEndpoint(node: string, containerId: string): Promise<void> {
    await this.client.kv.deleteRange({ key: Buffer.from(this.keyOf(node, containerId)) });
  }

  async replaceEndpoints(owner: Lease, endpoints: readonly Endpoint[]): Promise<void> {
    assertOwnEndpoints(owner, endpoints);
    const node = owner.nodeName;
    const { lease, compare } = await this.ownerCondition(owner);
    const range = Range.prefix(`${this.prefix}${node}/`);
    const stored = await this.client.kv.range({ key: range.start, range_end: range.end, keys_only: true });
    const wanted = new Set(endpoints.map((e) => this.keyOf(node, e.containerId)));
    const ops = [
      ...stored.kvs.map((kv) => kv.key.toString()).filter((key) => !wanted.has(key)).map((key) => ({ request_delete_range: { key: Buffer.from(key) } })),
      ...endpoints.map((e) => this.putOp(e, lease)),
    ];
    for (let i = 0; i < ops.length; i += opsPerTxn) {
      const res = await this.client.kv.txn({ compare: [compare], success: ops.slice(i, i + opsPerTxn) });
      if (!res.succeeded) throw new NotOwnerError(owner);
    }
  }

  watchEndpoints(handlers: EndpointWatchHandlers): LeaseWatch {
    let known = new Map<string, Endpoint>();
    let invalid = new Map<string, InvalidEndpoint>();
    const deliver = () => handlers.onEndpoints([...known.values()], [...invalid.values()]);
    const apply = (kv: IKeyValue, deleted: boolean) => {
      const key = kv.key.toString().slice(this.prefix.length);
      known.delete(key);
      invalid.delete(key);
      if (deleted) return;
      const read = endpointFromKv(key, kv.value);
      if ('problem' in read) invalid.set(key, read);
      else known.set(key, read);
    };
    return this.watchPrefix({
      onEvents: async (events) => {
        for (const event of events) apply(event.kv, event.type === 'Delete');
        deliver();
      },
      relist: async () => {
        const range = Range.prefix(this.prefix);
        const res = await this.client.kv.range({ key: range.start, range_end: range.end });
        known = new Map();
        invalid = new Map();
        for (const kv of res.kvs) apply(kv, false);
        deliver();
        return revisionOf(res.header);
      },
      ...(handlers.onRestart ? { onRestart: handlers.onRestart } : {}),
    });
  }
}

const relistBackoff: BackoffPolicy = { initialMs: 200, maxMs: 5000 };

type WatchEvent = { readonly type: string; readonly kv: IKeyValue };

/** What a watch of one key prefix does with what it sees; leases and endpoints each give their own. */
interface PrefixWatchHandlers {
  /** Handles the events of one watch response, in order. */
  readonly onEvents: (events: readonly WatchEvent[], revision: number) => Promise<void>;
  /** Lists the prefix again and delivers it as a whole; returns the revision listed at. */
  readonly relist: () => Promise<number>;
  readonly onRestart?: (reason: string) => void;
}

class PrefixWatch {
  private watcher: Watcher | undefined;
  private closed = false;
  /** Responses are handled one after another (decoding may wait on etcd), keeping their order. */
  private queue: Promise<void> = Promise.resolve();
  private relistTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly handlers: PrefixWatchHandlers,
  ) {}

  start(fromRevision: number): void {
    const watcher = this.client.watch().prefix(this.prefix).startRevision(String(fromRevision + 1)).watcher();
    this.watcher = watcher;
    watcher.on('data', (res) => {
      if (res.events.length === 0) return;
      this.enqueue(() => this.handlers.onEvents(res.events, revisionOf(res.header)));
    });
    // The client retries a lost stream again and again while etcd is away: one report per outage, not one
    // per retry.
    let connected = true;
    watcher.on('connected', () => {
      connected = true;
    });
    watcher.on('disconnected', (err) => {
      if (this.closed || !connected) return;
      connected = false;
      this.handlers.onRestart?.(`watch stream lost (${err.message}); resuming`);
    });
    // etcd cancels a watch whose start revision it has compacted away (also when resuming after a
    // reconnect): list everything again and watch from there.
    watcher.on('error', (err) => {
      if (this.watcher !== watcher || this.closed) return;
      this.watcher = undefined;
      this.handlers.onRestart?.(`watch cancelled (${err.message}); listing again`);
      this.enqueue(() => this.relist(0));
    });
  }

  /** Lists, delivers, then watches from the listed revision. */
  startWithList(): void {
    this.enqueue(() => this.relist(0));
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (err) {
        this.handlers.onRestart?.(`reading watch events: ${(err as Error).message}; listing again`);
        if (this.watcher) {
          const stale = this.watcher;
          this.watcher = undefined;
          await stale.cancel().catch(() => undefined);
        }
        await this.relist(0);
      }
    });
  }

  private async relist(attempt: number): Promise<void> {
    if (this.closed) return;
    try {
      const revision = await this.handlers.relist();
      if (!this.closed) this.start(revision);
    } catch (err) {
      this.handlers.onRestart?.(`listing ${this.prefix}: ${(err as Error).message}; retrying`);
      await new Promise<void>((resolve) => {
        this.relistTimer = setTimeout(resolve, backoffDelay(relistBackoff, attempt));
      });
      await this.relist(attempt + 1);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.relistTimer);
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher) {
      // Cancelling waits for etcd's answer; a member that is down gives none.
      await Promise.race([watcher.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
  }
}
