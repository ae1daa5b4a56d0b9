// The in-process half of bench/overlay/overlay.bench.mjs (which bundles this file and prints the comparison). One
// scenario per run, its figures as JSON on stdout.
//   program NS_PATH N            the data path for N peers in a fresh namespace (underlay ul0 present):
//                                the first run (device and every entry), then (medians of 7) a run with
//                                nothing to do, one peer more, one peer less.
//   latency STORE ARG PEERS R    run inside a node's namespace beside its weftd: R times, a new lease is
//                                written to the store and the node's main table polled until its route is
//                                there. STORE is embedded (ARG: the file) or etcd (ARG: an endpoint). PEERS
//                                leases are written first, so the node already holds that many peers.
//                                Then, R times, the VXLAN device is deleted behind weftd's back and the
//                                table polled until every peer's route is back (weftd answers the kernel's
//                                notification; its period, 5 s, is not what brings them back).
//   populate ETCD N              (--scale) writes N simulated nodes' leases straight into etcd, 100 to a
//                                transaction, each under its own etcd lease, as the etcd store writes them.
//   list ETCD N                  (--scale) EtcdStore.list() over N leases, median of 5: as written now (each
//                                record says its TTL) and as an older weftd wrote them (no TTL in the
//                                record: one leaseTimeToLive per lease, as every listing was before).
//   churn ETCD N R RATE SECONDS  (--scale) beside a weftd holding the N: R leases added then removed one at
//                                a time, then nodes joining and leaving (alternately) at RATE a second for
//                                SECONDS; each change timed from the store write to the route's kernel
//                                notification. Then every route checked against the leases.
import { parseIp } from '../../lib/ip/address.ts';
import { formatCidr } from '../../lib/ip/cidr.ts';
import { KernelWatch, Netlink } from '../../lib/netlink/index.ts';
import { desiredDataPath } from '../../daemon/datapath/desired-state.ts';
import { readUnderlayState, reconcileKernel } from '../../daemon/datapath/reconcile.ts';
import { EmbeddedStore } from '../../daemon/lease/embedded-store.ts';
import type { Lease, LeaseSpec } from '../../daemon/lease/lease.ts';
import type { LeaseStore } from '../../daemon/lease/store.ts';
import { parseNetworkConfig } from '../../daemon/network-config.ts';

const [scenario, ...args] = process.argv.slice(2);

/** Peer number i (1-based): subnet 10.(i/256).(i%256).0/24 of 10.0.0.0/8, underlay 198.18.x.y. */
function peerLease(i: number): LeaseSpec {
  const hi = i >> 8;
  const lo = i & 255;
  return {
    nodeName: `peer-${i}`,
    subnet: `10.${hi}.${lo}.0/24`,
    publicIp: `198.18.${hi}.${lo}`,
    vtepMac: `02:00:00:00:${hi.toString(16).padStart(2, '0')}:${lo.toString(16).padStart(2, '0')}`,
  };
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

function program(nsPath: string, n: number): Record<string, number> {
  const config = parseNetworkConfig({ network: '10.0.0.0/8', subnetLen: 24, vni: 1 });
  const own: LeaseSpec = { nodeName: 'self', subnet: '10.255.255.0/24', publicIp: '198.18.0.0', vtepMac: '02:ff:00:00:00:01' };
  const peers = Array.from({ length: n + 1 }, (_, i) => peerLease(i + 1));
  const nl = Netlink.open(nsPath);
  try {
    const underlay = readUnderlayState(nl, { name: 'ul0', index: nl.linkIndex('ul0'), mtu: 1500, address: parseIp('198.18.0.0') });
    const run = (leases: LeaseSpec[]) => {
      const start = process.hrtime.bigint();
      const outcome = reconcileKernel(nl, desiredDataPath({ config, own, leases: [own, ...leases], underlay }));
      if (outcome.failures.length > 0) throw new Error(outcome.failures.join('\n'));
      return { ms: ms(start), steps: outcome.steps.length };
    };
    const first = run(peers.slice(0, n));
    // Steady state, as the periodic check and lease events see it: medians over a few runs each.
    const idle = [];
    const added = [];
    const removed = [];
    for (let r = 0; r < 7; r++) {
      idle.push(run(peers.slice(0, n)));
      added.push(run(peers));
      removed.push(run(peers.slice(0, n)));
    }
    if (idle.some((x) => x.steps !== 0)) throw new Error('a run with nothing to do made changes');
    const median = (xs: Array<{ ms: number }>) => xs.map((x) => x.ms).sort((a, b) => a - b)[xs.length >> 1]!;
    return {
      firstMs: first.ms, firstSteps: first.steps, idleMs: median(idle), addOneMs: median(added), addOneSteps: added[0]!.steps,
      removeOneMs: median(removed), removeOneSteps: removed[0]!.steps,
    };
  } finally {
    nl.close();
  }
}

async function openStore(kind: string, arg: string): Promise<LeaseStore> {
  if (kind === 'embedded') return new EmbeddedStore({ path: arg });
  const { EtcdStore } = await import('../../daemon/lease/etcd-store.ts');
  return new EtcdStore({ endpoints: [arg], prefix: '/weft/bench' });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function latency(kind: string, arg: string, peers: number, rounds: number): Promise<Record<string, number[]>> {
  const store = await openStore(kind, arg);
  const nl = Netlink.open();
  const routed = () => new Set(nl.routeList({ family: 4 }).map((r) => formatCidr(r.dst)));
  try {
    for (let i = 1; i <= peers; i++) {
      const outcome = await store.create(peerLease(i), 3600);
      if (!outcome.created) throw new Error(`lease ${i} not created`);
    }
    // Wait until the node holds every peer before timing anything.
    for (let waited = 0; routed().size < peers; waited += 50) {
      if (waited > 60_000) throw new Error(`the node programmed ${routed().size} of ${peers} peers`);
      await sleep(50);
    }
    const totalMs: number[] = [];
    const writeMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const lease = peerLease(peers + 1 + r);
      const start = process.hrtime.bigint();
      const outcome = await store.create(lease, 3600);
      writeMs.push(ms(start));
      if (!outcome.created) throw new Error(`lease ${lease.subnet} not created`);
      // Poll the kernel, yielding to nothing else: this process only watches.
      while (!routed().has(lease.subnet)) {
        if (ms(start) > 10_000) throw new Error(`no route to ${lease.subnet} after 10 s`);
        await sleep(0.2);
      }
      totalMs.push(ms(start));
      await sleep(100);
    }
    const repairMs: number[] = [];
    const held = peers + rounds;
    for (let r = 0; r < rounds; r++) {
      const start = process.hrtime.bigint();
      nl.linkDel('weft.1');
      while (routed().size < held) {
        if (ms(start) > 10_000) throw new Error(`${routed().size} of ${held} routes back after 10 s`);
        await sleep(0.2);
      }
      repairMs.push(ms(start));
      await sleep(100);
    }
    return { totalMs, writeMs, repairMs };
  } finally {
    nl.close();
    await store.close();
  }
}

const prefix = '/weft/bench';

async function populate(endpoint: string, n: number, withTtl = true): Promise<Record<string, number>> {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: [endpoint] });
  const start = process.hrtime.bigint();
  try {
    for (let from = 1; from <= n; from += 100) {
      const batch = Array.from({ length: Math.min(n + 1, from + 100) - from }, (_, k) => from + k);
      // Each node its own etcd lease, as weftd writes them.
      const leases = await Promise.all(batch.map(() => client.leaseClient.leaseGrant({ TTL: 3600 })));
      const success = batch.map((i, k) => {
        const { subnet, ...record } = peerLease(i);
        const value = Buffer.from(JSON.stringify(withTtl ? { ...record, ttl: 3600 } : record));
        return { request_put: { key: Buffer.from(`${prefix}/subnets/${subnet.replace('/', '-')}`), value, lease: leases[k]!.ID } };
      });
      await client.kv.txn({ compare: [], success });
    }
    return { ms: ms(start) };
  } finally {
    client.close();
  }
}

async function listing(endpoint: string, n: number): Promise<Record<string, number>> {
  const { EtcdStore } = await import('../../daemon/lease/etcd-store.ts');
  const store = new EtcdStore({ endpoints: [endpoint], prefix });
  const timed = async () => {
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const start = process.hrtime.bigint();
      const snapshot = await store.list();
      times.push(ms(start));
      if (snapshot.leases.length < n) throw new Error(`listed ${snapshot.leases.length} of ${n}`);
    }
    return times.sort((a, b) => a - b)[2]!;
  };
  try {
    const withTtlMs = await timed();
    await populate(endpoint, n, false);
    const withoutTtlMs = await timed();
    await populate(endpoint, n);
    return { withTtlMs, withoutTtlMs };
  } finally {
    await store.close();
  }
}

/** Times from a store write to the kernel's notification of the route it makes or removes. */
function routeWatch() {
  const waiting = new Map<string, { removed: boolean; resolve: () => void }>();
  const watch = KernelWatch.open(undefined, ['route'], {
    onChanges: (changes) => {
      for (const c of changes) {
        if (c.kind !== 'route') continue;
        const key = formatCidr(c.route.dst);
        const w = waiting.get(key);
        if (w && w.removed === c.removed) {
          waiting.delete(key);
          w.resolve();
        }
      }
    },
    onLost: (reason) => {
      throw new Error(`route notifications lost: ${reason}`);
    },
  });
  return {
    /** Runs `write` and resolves with ms from its start to the notification (rejects after 10 s). */
    async timed(subnet: string, removed: boolean, write: () => Promise<unknown>): Promise<number> {
      const seen = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${removed ? 'removal' : 'route'} of ${subnet} within 10 s`)), 10_000);
        waiting.set(subnet, { removed, resolve: () => { clearTimeout(timer); resolve(); } });
      });
      const start = process.hrtime.bigint();
      await write();
      await seen;
      return ms(start);
    },
    close: () => watch.close(),
  };
}

async function churn(endpoint: string, n: number, rounds: number, rate: number, seconds: number): Promise<Record<string, unknown>> {
  const { EtcdStore } = await import('../../daemon/lease/etcd-store.ts');
  const store = new EtcdStore({ endpoints: [endpoint], prefix });
  const routes = routeWatch();
  const nl = Netlink.open();
  try {
    const addMs: number[] = [];
    const removeMs: number[] = [];
    let next = n + 1;
    for (let r = 0; r < rounds; r++) {
      const spec = peerLease(next++);
      let lease: Lease | undefined;
      addMs.push(await routes.timed(spec.subnet, false, async () => {
        const outcome = await store.create(spec, 3600);
        if (!outcome.created) throw new Error(`lease ${spec.subnet} not created`);
        lease = outcome.lease;
      }));
      await sleep(50);
      removeMs.push(await routes.timed(spec.subnet, true, () => store.delete(lease!)));
      await sleep(50);
    }
    // Churn: joins (a new node's lease, written as weftd writes it) and leaves (a key deleted, as etcd does
    // when a lease expires) alternate, at a steady rate, without waiting for each other.
    const live = new Map<string, Lease | undefined>(Array.from({ length: n }, (_, i) => [peerLease(i + 1).subnet, undefined]));
    const churnMs: number[] = [];
    const changes: Array<Promise<void>> = [];
    const started = performance.now();
    for (let k = 0; k < rate * seconds; k++) {
      const due = started + (k * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (k % 2 === 0) {
        const spec = peerLease(next++);
        changes.push(routes.timed(spec.subnet, false, async () => {
          const outcome = await store.create(spec, 3600);
          if (!outcome.created) throw new Error(`lease ${spec.subnet} not created`);
          live.set(spec.subnet, outcome.lease);
        }).then((t) => void churnMs.push(t)));
      } else {
        // The oldest live node leaves.
        const [subnet, lease] = live.entries().next().value as [string, Lease | undefined];
        live.delete(subnet);
        changes.push(routes.timed(subnet, true, async () => {
          if (lease) await store.delete(lease);
          else await deleteKey(endpoint, subnet);
        }).then((t) => void churnMs.push(t)));
      }
    }
    await Promise.all(changes);
    const churnSeconds = (performance.now() - started) / 1000;
    // Settled: the node's routes are exactly the live leases' (its own aside).
    await sleep(2000);
    const inKernel = new Set(nl.routeList({ family: 4 }).filter((r) => r.dst.prefix === 24).map((r) => formatCidr(r.dst)));
    inKernel.delete('10.255.0.0/24');
    const missing = [...live.keys()].filter((s) => !inKernel.has(s)).length;
    const extra = [...inKernel].filter((s) => !live.has(s)).length;
    const neighbours = nl.neighList({ family: 4 }).filter((x) => x.state === 'permanent').length;
    return { addMs, removeMs, churnMs, churnSeconds, live: live.size, routes: inKernel.size, missing, extra, neighbours };
  } finally {
    routes.close();
    nl.close();
    await store.close();
  }
}

let deleter: import('etcd3').Etcd3 | undefined;
async function deleteKey(endpoint: string, subnet: string): Promise<void> {
  if (!deleter) deleter = new (await import('etcd3')).Etcd3({ hosts: [endpoint] });
  await deleter.delete().key(`${prefix}/subnets/${subnet.replace('/', '-')}`);
}

const scenarios: Record<string, () => unknown> = {
  program: () => program(args[0]!, Number(args[1])),
  latency: () => latency(args[0]!, args[1]!, Number(args[2]), Number(args[3])),
  populate: () => populate(args[0]!, Number(args[1])),
  list: () => listing(args[0]!, Number(args[1])),
  churn: () => churn(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4])),
};
const result = await scenarios[scenario!]?.();
deleter?.close();
if (!result) throw new Error(`unknown scenario ${scenario}`);
process.stdout.write(JSON.stringify(result));
