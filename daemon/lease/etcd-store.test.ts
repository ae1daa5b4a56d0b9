// Against real etcd processes on loopback (see testing/etcd-cluster.ts): one member for the store's
// operations and races, three for what a cluster must survive. Leases of 1 s keep the file quick.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '../log.ts';
import { parseNetworkConfig } from '../network-config.ts';
import { EtcdStore, type EtcdStoreOptions } from './etcd-store.ts';
import type { Lease, LeaseSpec } from './lease.ts';
import { LeaseManager } from './lease-manager.ts';
import { NotOwnerError, type CreateOutcome, type LeaseEvent, type WatchBatch } from './store.ts';
import { EtcdCluster } from './testing/etcd-cluster.ts';
import { endpointToJson } from '../../lib/weftd-api/endpoint.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';

const spec = (n: number, nodeName = `n${n}`): LeaseSpec =>
  ({ subnet: `10.244.${n}.0/24`, nodeName, publicIp: `192.0.2.${n}`, vtepMac: '0a:00:00:00:00:01' });

const quiet = new Logger('error', () => undefined);

function created(outcome: CreateOutcome): Lease {
  if (!outcome.created) throw new Error('lease not created');
  return outcome.lease;
}
const stores: EtcdStore[] = [];
let prefixSerial = 0;

function openStore(endpoints: string[], extra: Partial<EtcdStoreOptions> = {}): EtcdStore {
  const store = new EtcdStore({
    endpoints, prefix: `/weft-test/${prefixSerial}`, callTimeoutMs: 2000, watchBackoff: { initialMs: 50, maxMs: 400 }, ...extra,
  });
  stores.push(store);
  return store;
}

/** Collects watch batches; `until` waits for a condition on them. */
function collector() {
  const batches: WatchBatch[] = [];
  const restarts: string[] = [];
  return {
    batches,
    restarts,
    handlers: { onBatch: (b: WatchBatch) => void batches.push(b), onRestart: (r: string) => void restarts.push(r) },
    events: (): LeaseEvent[] => batches.flatMap((b) => (b.kind === 'events' ? b.events : [])),
    async until(what: string, predicate: () => boolean, timeoutMs = 8000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(batches)} ${JSON.stringify(restarts)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** Compacts etcd's history up to `revision`: watches from before it can no longer resume. */
async function compact(endpoints: string[], revision: number): Promise<void> {
  const admin = new Etcd3({ hosts: endpoints });
  try {
    await admin.kv.compact({ revision, physical: true });
  } finally {
    admin.close();
  }
}

/** A cluster of `size` members for the enclosing describe, stopped (with the stores opened) after it. */
function clusterFor(size: number): () => EtcdCluster {
  let cluster: EtcdCluster | undefined;
  beforeAll(async () => {
    cluster = await EtcdCluster.start(size);
  });
  afterAll(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await cluster?.stop();
  });
  return () => cluster!;
}

describe('EtcdStore on one member', () => {
  const etcd = clusterFor(1);

  it('creates if absent, and updates, renews and deletes only the revision it read', async () => {
    prefixSerial++;
    const store = openStore(etcd().endpoints);
    const made = await store.create(spec(1), 30);
    if (!made.created) throw new Error('not created');
    expect(made.lease.expiresAt).toBeGreaterThan(Date.now() + 29_000);
    const lost = await openStore(etcd().endpoints).create(spec(1, 'other'), 30);
    expect(lost).toMatchObject({ created: false, existing: { nodeName: 'n1', revision: made.lease.revision } });

    const moved = await store.update(made.lease, { ...spec(1), publicIp: '192.0.2.77' }, 30);
    expect(moved).toMatchObject({ publicIp: '192.0.2.77' });
    expect(moved!.revision).toBeGreaterThan(made.lease.revision);
    expect(await store.update(made.lease, spec(1), 30)).toBeUndefined();
    expect(await store.renew(made.lease)).toBeUndefined();
    const renewed = await store.renew(moved!);
    expect(renewed).toMatchObject({ revision: moved!.revision });
    expect(await store.delete(made.lease)).toBe(false);
    expect(await store.delete(moved!)).toBe(true);
    expect((await store.list()).leases).toEqual([]);
  });

  it('keeps reservations without TTL and reports unreadable entries', async () => {
    prefixSerial++;
    const store = openStore(etcd().endpoints);
    const reserved = await store.create(spec(4, 'fixed'), null);
    expect(reserved).toMatchObject({ created: true, lease: { expiresAt: null } });
    const admin = new Etcd3({ hosts: etcd().endpoints });
    try {
      await admin.put(`/weft-test/${prefixSerial}/subnets/10.244.5.0-24`).value('not json');
    } finally {
      admin.close();
    }
    const snapshot = await store.list();
    expect(snapshot.leases).toMatchObject([{ nodeName: 'fixed', expiresAt: null }]);
    expect(snapshot.invalid).toEqual([{ key: '10.244.5.0-24', problem: 'value is not JSON' }]);
    if (reserved.created) expect(await store.renew(reserved.lease)).toMatchObject({ expiresAt: null });
  });

  it('lists every lease with its expiry in one range read, asking etcd only of records without a TTL', async () => {
    prefixSerial++;
    const store = openStore(etcd().endpoints);
    for (let n = 1; n <= 20; n++) await store.create(spec(n), 30);
    // A record as an older weftd wrote it: no "ttl", its expiry only in its etcd lease.
    const admin = new Etcd3({ hosts: etcd().endpoints });
    try {
      const old = await admin.lease(25, { autoKeepAlive: false }).grant();
      await admin.put(`/weft-test/${prefixSerial}/subnets/10.244.30.0-24`).value(JSON.stringify({ nodeName: 'old', publicIp: '192.0.2.30', vtepMac: '' })).lease(old);
    } finally {
      admin.close();
    }
    const client = (store as unknown as { client: Etcd3 }).client;
    const asked = vi.spyOn(client.leaseClient, 'leaseTimeToLive');
    const before = Date.now();
    const snapshot = await store.list();
    expect(asked).toHaveBeenCalledTimes(1);
    expect(snapshot.leases).toHaveLength(21);
    for (const lease of snapshot.leases.filter((l) => l.nodeName !== 'old')) {
      expect(lease.expiresAt).toBeGreaterThanOrEqual(before + 30_000);
      expect(lease.expiresAt).toBeLessThanOrEqual(Date.now() + 30_000);
    }
    const old = snapshot.leases.find((l) => l.nodeName === 'old')!;
    expect(old.expiresAt).toBeGreaterThan(before + 20_000);
    expect(old.expiresAt).toBeLessThanOrEqual(Date.now() + 25_000);
  });

  it('stores the first network config and hands it to later proposers', async () => {
    prefixSerial++;
    const a = openStore(etcd().endpoints);
    expect(await a.networkConfig()).toBeUndefined();
    expect(await a.networkConfig({ network: '10.244.0.0/16' })).toEqual({ network: '10.244.0.0/16' });
    expect(await openStore(etcd().endpoints).networkConfig({ network: '10.1.0.0/16' })).toEqual({ network: '10.244.0.0/16' });
  });

  it('gives 10 managers started at once 10 distinct subnets', async () => {
    prefixSerial++;
    const config = parseNetworkConfig({ network: '10.244.0.0/16', subnetMax: '10.244.20.0', ttl: 30 });
    const managers = Array.from({ length: 10 }, (_, i) => new LeaseManager({
      store: openStore(etcd().endpoints), config, log: quiet,
      // The same first choice for everyone: only the create-if-absent transaction keeps them apart.
      random: () => 0,
      attrs: { nodeName: `node${i}`, publicIp: `192.0.2.${i + 1}`, vtepMac: '0a:00:00:00:00:01' },
    }));
    try {
      const leases = await Promise.all(managers.map((m) => m.start()));
      expect(new Set(leases.map((l) => l.subnet)).size).toBe(10);
      const listed = await openStore(etcd().endpoints).list();
      expect(listed.leases.map((l) => l.nodeName).sort()).toEqual(managers.map((_, i) => `node${i}`).sort());
    } finally {
      await Promise.all(managers.map((m) => m.stop()));
    }
  });

  it('lets etcd expire a lease that is not renewed, and the watch sees it go', async () => {
    prefixSerial++;
    const store = openStore(etcd().endpoints);
    const seen = collector();
    const watch = store.watch((await store.list()).revision, seen.handlers);
    try {
      const made = await store.create(spec(2), 1);
      await seen.until('the put', () => seen.events().length === 1);
      expect(seen.events()[0]).toEqual({ type: 'put', lease: expect.objectContaining({ nodeName: 'n2' }) });
      const started = Date.now();
      await seen.until('the expiry', () => seen.events().some((e) => e.type === 'delete'), 5000);
      expect(Date.now() - started).toBeGreaterThan(500);
      expect((await store.list()).leases).toEqual([]);
      if (made.created) expect(await store.renew(made.lease)).toBeUndefined();
    } finally {
      await watch.close();
    }
  });

  it('lists again when its start revision was compacted away, then goes on watching', async () => {
    prefixSerial++;
    const store = openStore(etcd().endpoints);
    await store.create(spec(1), 30);
    const second = await store.create(spec(2), 30);
    if (!second.created) throw new Error('not created');
    await store.delete(second.lease);
    await compact(etcd().endpoints, (await store.list()).revision);
    const seen = collector();
    const watch = store.watch(1, seen.handlers);
    try {
      await seen.until('a reset', () => seen.batches.some((b) => b.kind === 'reset'));
      expect(seen.batches[0]).toMatchObject({ kind: 'reset', snapshot: { leases: [{ nodeName: 'n1' }] } });
      await store.create(spec(3), 30);
      await seen.until('the put after the reset', () => seen.events().some((e) => e.type === 'put' && e.lease.nodeName === 'n3'));
    } finally {
      await watch.close();
    }
  });

  it('shares endpoints: puts, deletes and a node\'s replace reach every endpoint watch', async () => {
    prefixSerial++;
    const storeA = openStore(etcd().endpoints);
    const storeB = openStore(etcd().endpoints);
    const [a, b] = [storeA.endpoints, storeB.endpoints];
    const na = created(await storeA.create(spec(1, 'na'), 30));
    const nb = created(await storeB.create(spec(2, 'nb'), 30));
    await a.putEndpoint(na, endpoint('echo', 'stale', 'na', '10.244.1.9'));
    const seen: { ids: string[]; invalid: string[] }[] = [];
    const watch = b.watchEndpoints({ onEndpoints: (list, invalid) => void seen.push({ ids: list.map((e) => `${e.node}/${e.containerId}`).sort(), invalid: invalid.map((i) => i.key) }) });
    const until = async (what: string, ids: string[]) => {
      const deadline = Date.now() + 5000;
      while (JSON.stringify(seen.at(-1)?.ids) !== JSON.stringify(ids)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      await until('the listed endpoint', ['na/stale']);
      // A restarted node replaces its set: the stale entry goes, the current ones stay or arrive.
      await a.replaceEndpoints(na, [endpoint('echo', 'c1', 'na', '10.244.1.2'), endpoint('echo', 'c2', 'na', '10.244.1.3')]);
      await until('the replaced set', ['na/c1', 'na/c2']);
      await b.putEndpoint(nb, endpoint('echo', 'c3', 'nb', '10.244.2.2', 50051, { health: 'draining' }));
      await until('the other node\'s put', ['na/c1', 'na/c2', 'nb/c3']);
      expect(seen.flatMap((s) => s.invalid)).toEqual([]);
      await a.deleteEndpoint('na', 'c1');
      await until('the delete', ['na/c2', 'nb/c3']);
      const admin = new Etcd3({ hosts: etcd().endpoints });
      try {
        // An entry whose key and value disagree is reported and not served.
        await admin.put(`/weft-test/${prefixSerial}/endpoints/nc/c9`).value(JSON.stringify(endpointToJson(endpoint('echo', 'c8', 'nc', '10.244.3.2'))));
      } finally {
        admin.close();
      }
      const deadline = Date.now() + 5000;
      while (!seen.at(-1)?.invalid.includes('nc/c9')) {
        if (Date.now() > deadline) throw new Error(`the bad entry was not reported: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(seen.at(-1)!.ids).toEqual(['na/c2', 'nb/c3']);
      // A replace with nothing empties the node's set.
      await a.replaceEndpoints(na, []);
      await until('the emptied node', ['nb/c3']);
    } finally {
      await watch.close();
    }
  });

  it('ties a node\'s endpoints to its lease: moved when a restart takes the lease back, deleted by etcd when it expires', async () => {
    prefixSerial++;
    const store = openStore(etcd().endpoints);
    const n1 = created(await store.create(spec(1), 2));
    await store.endpoints.replaceEndpoints(n1, [endpoint('echo', 'c1', 'n1', '10.244.1.2'), endpoint('echo', 'c2', 'n1', '10.244.1.3')]);
    const seen: string[][] = [];
    const watch = openStore(etcd().endpoints).endpoints.watchEndpoints({
      onEndpoints: (list) => void seen.push(list.map((e) => `${e.node}/${e.containerId}`).sort()),
    });
    const until = async (what: string, predicate: () => boolean, timeoutMs = 8000) => {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      await until('the listed endpoints', () => seen.length > 0);
      // A restarted daemon takes its lease back: a new etcd lease, the old one revoked. The endpoints move
      // to the new one first, so no watcher ever sees them go; the old lease writes no more.
      const back = (await store.update(n1, spec(1), 2))!;
      await expect(store.endpoints.putEndpoint(n1, endpoint('echo', 'c3', 'n1', '10.244.1.4'))).rejects.toThrow(NotOwnerError);
      await store.endpoints.putEndpoint(back, endpoint('echo', 'c3', 'n1', '10.244.1.4'));
      await until('the put under the lease taken back', () => seen.at(-1)?.length === 3);
      // Nobody renews it: etcd deletes the lease key and every endpoint with it.
      await until('the endpoints gone with the lease', () => seen.at(-1)?.length === 0);
      expect(seen.slice(0, -1).every((ids) => ids.includes('n1/c1') && ids.includes('n1/c2'))).toBe(true);
      const admin = new Etcd3({ hosts: etcd().endpoints });
      try {
        expect(await admin.getAll().prefix(`/weft-test/${prefixSerial}/endpoints/`).keys()).toEqual([]);
      } finally {
        admin.close();
      }
    } finally {
      await watch.close();
    }
  }, 20_000);
});

describe('EtcdStore on a 3-member cluster', () => {
  const etcd = clusterFor(3);

  /**
   * Watches through member 0 while member 1 takes writes; creates lease n1, then runs `meanwhile` with
   * member 0 down, brings it back and returns what the watch delivered.
   */
  async function watchAcrossOutage(meanwhile: (writer: EtcdStore, first: Lease) => Promise<void>, done: (seen: ReturnType<typeof collector>) => boolean) {
    prefixSerial++;
    const [first, second] = etcd().members;
    const watching = openStore([first!.clientUrl]);
    const writer = openStore([second!.clientUrl]);
    const seen = collector();
    const watch = watching.watch((await watching.list()).revision, seen.handlers);
    try {
      const made = await writer.create(spec(1), 30);
      if (!made.created) throw new Error('not created');
      await seen.until('the first put', () => seen.events().length === 1);
      await first!.kill();
      await meanwhile(writer, made.lease);
      await first!.start();
      await first!.healthy();
      await seen.until('the watch to catch up', () => done(seen));
      return seen;
    } finally {
      await watch.close();
    }
  }

  it('resumes a watch after its member comes back, missing nothing written meanwhile, and reports the outage once', async () => {
    const seen = await watchAcrossOutage(async (writer) => {
      await writer.create(spec(2), 30);
      await writer.create(spec(3), 30);
      // Long enough for the client to retry the stream dozens of times.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }, (s) => s.events().length === 3);
    expect(seen.events().map((e) => e.type === 'put' && e.lease.nodeName)).toEqual(['n1', 'n2', 'n3']);
    expect(seen.restarts).toHaveLength(1);
    expect(seen.batches.every((b) => b.kind === 'events')).toBe(true);
  }, 30_000);

  it('lists again when history was compacted while its member was away', async () => {
    const seen = await watchAcrossOutage(async (writer, first) => {
      await writer.delete(first);
      await writer.create(spec(2), 30);
      await compact([etcd().members[1]!.clientUrl], (await writer.list()).revision);
    }, (s) => s.batches.some((b) => b.kind === 'reset'));
    expect(seen.batches.find((b) => b.kind === 'reset')).toMatchObject({ kind: 'reset', snapshot: { leases: [{ nodeName: 'n2' }] } });
  }, 30_000);

  it('goes on when the leader dies: renewals, creates and the watch keep working', async () => {
    prefixSerial++;
    const config = parseNetworkConfig({ network: '10.244.0.0/16', ttl: 1 });
    const manager = new LeaseManager({
      store: openStore(etcd().endpoints), config, log: quiet,
      attrs: { nodeName: 'survivor', publicIp: '192.0.2.1', vtepMac: '0a:00:00:00:00:01' },
    });
    const seen: string[] = [];
    manager.subscribe((e) => seen.push(...e.changes.added.map((l) => l.nodeName)));
    try {
      const lease = await manager.start();
      const leader = await etcd().leader();
      await leader.kill();
      const other = openStore(etcd().members.filter((m) => m !== leader).map((m) => m.clientUrl));
      await other.create(spec(200, 'late'), 30);
      // Three TTLs of 1 s: the lease lives on only if renewals reach the surviving members.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const listed = await other.list();
      expect(listed.leases.find((l) => l.subnet === lease.subnet)?.nodeName).toBe('survivor');
      expect(manager.stats).toMatchObject({ losses: 0 });
      expect(manager.stats.renewals).toBeGreaterThanOrEqual(4);
      expect(seen).toContain('late');
      await leader.start();
      await leader.healthy();
    } finally {
      await manager.stop();
    }
  }, 15_000);
});
