import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from './embedded-store.ts';
import type { Lease, LeaseSpec } from './lease.ts';
import { NotOwnerError, type CreateOutcome, type WatchBatch } from './store.ts';
import { endpointToJson } from '../../lib/weftd-api/endpoint.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-embedded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;
const freshPath = () => join(dir, `s${serial++}`, 'leases.json');

const spec = (n: number, nodeName = `n${n}`): LeaseSpec =>
  ({ subnet: `10.244.${n}.0/24`, nodeName, publicIp: `192.0.2.${n}`, vtepMac: '0a:00:00:00:00:01' });

/** Collects watch batches; `until` waits for one that satisfies a predicate. */
function collector() {
  const batches: WatchBatch[] = [];
  const waiters: Array<() => void> = [];
  return {
    batches,
    handlers: { onBatch: (b: WatchBatch) => { batches.push(b); waiters.splice(0).forEach((w) => w()); } },
    async until(predicate: (all: WatchBatch[]) => boolean, timeoutMs = 3000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(batches)) {
        if (Date.now() > deadline) throw new Error(`no matching batch in ${timeoutMs} ms: ${JSON.stringify(batches)}`);
        await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 50); });
      }
    },
  };
}

const eventsOf = (batches: WatchBatch[]) => batches.flatMap((b) => (b.kind === 'events' ? b.events : []));

function created(outcome: CreateOutcome): Lease {
  if (!outcome.created) throw new Error('lease not created');
  return outcome.lease;
}

describe('EmbeddedStore operations', () => {
  it('creates if absent, updates and deletes if unchanged, and persists', async () => {
    const path = freshPath();
    const store = new EmbeddedStore({ path });
    const made = await store.create(spec(1), 60);
    expect(made.created).toBe(true);
    if (!made.created) return;
    expect(await store.create(spec(1, 'other'), 60)).toEqual({ created: false, existing: made.lease });
    const moved = await store.update(made.lease, { ...spec(1), publicIp: '192.0.2.99' }, 60);
    expect(moved).toMatchObject({ publicIp: '192.0.2.99', revision: 2 });
    expect(await store.update(made.lease, spec(1), 60)).toBeUndefined();
    expect(await store.delete(made.lease)).toBe(false);
    // Another instance on the same file sees the same state.
    const other = new EmbeddedStore({ path });
    expect((await other.list()).leases).toEqual([moved]);
    expect(await other.delete(moved!)).toBe(true);
    expect(await store.list()).toEqual({ leases: [], revision: 3, invalid: [] });
  });

  it('renews without changing the revision', async () => {
    let now = 1_000_000;
    const store = new EmbeddedStore({ path: freshPath(), now: () => now });
    const made = await store.create(spec(2), 30);
    if (!made.created) throw new Error('not created');
    now += 20_000;
    expect(await store.renew(made.lease)).toEqual({ ...made.lease, expiresAt: now + 30_000 });
    now += 31_000;
    expect(await store.renew(made.lease)).toBeUndefined();
    expect((await store.list()).leases).toEqual([]);
  });

  it('keeps the first network config proposed', async () => {
    const path = freshPath();
    const a = new EmbeddedStore({ path });
    expect(await a.networkConfig()).toBeUndefined();
    expect(await a.networkConfig({ network: '10.244.0.0/16' })).toEqual({ network: '10.244.0.0/16' });
    expect(await new EmbeddedStore({ path }).networkConfig({ network: '10.99.0.0/16' })).toEqual({ network: '10.244.0.0/16' });
  });

  it('refuses, and never overwrites, a file it did not write', async () => {
    const path = freshPath();
    const store = new EmbeddedStore({ path });
    await store.networkConfig({ network: '10.244.0.0/16' });
    writeFileSync(path, '{"format": "something-else"}');
    await expect(store.create(spec(1), 60)).rejects.toThrow(/lease file .*leases\.json: not a weft lease file/);
    writeFileSync(path, '{ truncated');
    await expect(store.list()).rejects.toThrow(/lease file .*leases\.json/);
    expect(readFileSync(path, 'utf8')).toBe('{ truncated');
  });
});

describe('EmbeddedStore between instances on one file', () => {
  it('lets exactly one of many simultaneous creators of a subnet win', async () => {
    const path = freshPath();
    const stores = [new EmbeddedStore({ path }), new EmbeddedStore({ path })];
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 2]!.create(spec(5, `node${i}`), 60)));
    const winners = outcomes.filter((o) => o.created);
    expect(winners).toHaveLength(1);
    const holder = winners[0]!.created ? winners[0]!.lease.nodeName : '';
    for (const o of outcomes) if (!o.created) expect(o.existing?.nodeName).toBe(holder);
  });

  it('loses no write when many instances write different subnets at once', async () => {
    const path = freshPath();
    const stores = Array.from({ length: 4 }, () => new EmbeddedStore({ path }));
    await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 4]!.create(spec(i + 1), 60)));
    const snapshot = await stores[0]!.list();
    expect(snapshot.leases).toHaveLength(40);
    expect(snapshot.revision).toBe(40);
  });

  it('writes atomically: a reader never sees a partial file, and no temporary file stays', async () => {
    const path = freshPath();
    const store = new EmbeddedStore({ path });
    await store.create(spec(1), 60);
    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        JSON.parse(await readFile(path, 'utf8'));
        reads++;
      }
    })();
    for (let i = 2; i < 60; i++) await store.create(spec(i), 60);
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expect(readdirSync(join(path, '..')).sort()).toEqual(['leases.json', 'leases.json.lock']);
  });
});

describe('EmbeddedStore watch', () => {
  it('delivers puts and deletes written by another instance, also when the store\'s folder did not exist yet', async () => {
    const path = freshPath();
    const watcher = new EmbeddedStore({ path, pollMs: 60_000 });
    const writer = new EmbeddedStore({ path });
    const seen = collector();
    const watch = watcher.watch(0, seen.handlers);
    try {
      // The watch is set up before the first write makes the folder (the poll, a minute here, is not it).
      await new Promise((resolve) => setTimeout(resolve, 200));
      const made = await writer.create(spec(1), 60);
      await seen.until((b) => eventsOf(b).length === 1);
      if (!made.created) throw new Error('not created');
      await writer.delete(made.lease);
      await seen.until((b) => eventsOf(b).length === 2);
      expect(eventsOf(seen.batches)).toEqual([
        { type: 'put', lease: made.lease },
        { type: 'delete', subnet: '10.244.1.0/24', revision: 2 },
      ]);
    } finally {
      await watch.close();
    }
  });

  it('reports an expiry when it happens', async () => {
    const store = new EmbeddedStore({ path: freshPath(), pollMs: 60_000 });
    const seen = collector();
    const watch = store.watch(0, seen.handlers);
    try {
      const started = Date.now();
      await store.create(spec(1), 1);
      await seen.until((b) => eventsOf(b).some((e) => e.type === 'delete'), 3000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    } finally {
      await watch.close();
    }
  });

  it('sends the whole set again when asked for a revision the file has moved past', async () => {
    const path = freshPath();
    const store = new EmbeddedStore({ path });
    await store.create(spec(1), 60);
    await store.create(spec(2), 60);
    const seen = collector();
    const watch = store.watch(1, seen.handlers);
    try {
      await seen.until((b) => b.length > 0);
      expect(seen.batches[0]).toMatchObject({ kind: 'reset', snapshot: { revision: 2, leases: [{ nodeName: 'n1' }, { nodeName: 'n2' }] } });
    } finally {
      await watch.close();
    }
  });
});

describe('EmbeddedStore endpoints', () => {
  it('shares endpoints between instances on one file, apart from the lease revision', async () => {
    const path = freshPath();
    const a = new EmbeddedStore({ path, pollMs: 100 });
    const b = new EmbeddedStore({ path, pollMs: 100 });
    const n1 = created(await a.create(spec(1), 60));
    const n2 = created(await b.create(spec(2), 60));
    const seen: { ids: string[]; invalid: string[] }[] = [];
    const watch = b.endpoints.watchEndpoints({
      onEndpoints: (list, invalid) => void seen.push({ ids: list.map((e) => `${e.node}/${e.containerId}`).sort(), invalid: invalid.map((i) => i.key) }),
    });
    const until = async (ids: string[]) => {
      const deadline = Date.now() + 3000;
      while (JSON.stringify(seen.at(-1)?.ids) !== JSON.stringify(ids)) {
        if (Date.now() > deadline) throw new Error(`never saw ${JSON.stringify(ids)}: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    try {
      await until([]);
      await a.endpoints.putEndpoint(n1, endpoint('echo', 'stale', 'n1', '10.244.1.9'));
      await until(['n1/stale']);
      await a.endpoints.replaceEndpoints(n1, [endpoint('echo', 'c1', 'n1', '10.244.1.2'), endpoint('echo', 'c2', 'n1', '10.244.1.3')]);
      await until(['n1/c1', 'n1/c2']);
      await b.endpoints.putEndpoint(n2, endpoint('echo', 'c3', 'n2', '10.244.2.2'));
      await until(['n1/c1', 'n1/c2', 'n2/c3']);
      await a.endpoints.deleteEndpoint('n1', 'c1');
      await until(['n1/c2', 'n2/c3']);
      // Endpoint writes leave the lease revision alone: lease watches from it need no reset.
      expect((await a.list()).revision).toBe(2);
      await a.endpoints.replaceEndpoints(n1, []);
      await until(['n2/c3']);
      expect(seen.flatMap((s) => s.invalid)).toEqual([]);

      // An entry that disagrees with where it is stored is reported and skipped.
      const file = JSON.parse(readFileSync(path, 'utf8')) as { endpoints: Record<string, Record<string, unknown>> };
      file.endpoints.n2!.c9 = endpointToJson(endpoint('echo', 'c8', 'n2', '10.244.2.9'));
      writeFileSync(path, JSON.stringify(file));
      const deadline = Date.now() + 3000;
      while (!seen.at(-1)?.invalid.includes('n2/c9')) {
        if (Date.now() > deadline) throw new Error(`the bad entry was not reported: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(seen.at(-1)!.ids).toEqual(['n2/c3']);
    } finally {
      await watch.close();
    }
  });

  it('ties a node\'s endpoints to its lease: kept while the lease is taken back, gone with it when it expires', async () => {
    const path = freshPath();
    const a = new EmbeddedStore({ path, pollMs: 100 });
    const b = new EmbeddedStore({ path, pollMs: 100 });
    const n1 = created(await a.create(spec(1), 1));
    await a.endpoints.putEndpoint(n1, endpoint('echo', 'c1', 'n1', '10.244.1.2'));
    const seen: string[][] = [];
    const watch = b.endpoints.watchEndpoints({ onEndpoints: (list) => void seen.push(list.map((e) => `${e.node}/${e.containerId}`)) });
    try {
      const deadline = Date.now() + 3000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      // A restart takes the lease back (a new revision): the endpoints stay, and the old lease writes no more.
      const back = (await a.update(n1, spec(1), 1))!;
      await expect(a.endpoints.putEndpoint(n1, endpoint('echo', 'c2', 'n1', '10.244.1.3'))).rejects.toThrow(NotOwnerError);
      await a.endpoints.putEndpoint(back, endpoint('echo', 'c2', 'n1', '10.244.1.3'));
      while (JSON.stringify(seen.at(-1)) !== JSON.stringify(['n1/c1', 'n1/c2']) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      // Nobody renews it: the endpoints go at the lease's expiry, no write needed, and the next write drops them.
      while (seen.at(-1)?.length !== 0 && Date.now() < deadline + 2000) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen.slice(0, -1).every((ids) => ids.includes('n1/c1'))).toBe(true);
      expect(seen.at(-1)).toEqual([]);
      await b.create(spec(2), 60);
      expect(JSON.parse(readFileSync(path, 'utf8')).endpoints).toBeUndefined();
    } finally {
      await watch.close();
    }
  });
});
