#!/usr/bin/env node
// The overlay data path (daemon/datapath) against `ip -batch`, and weftd's time from a new lease in the
// store to the route on the node. measure.ts holds the in-process scenarios; this bundles it (ESM,
// dependencies from node_modules, the netlink addon embedded) into build/bench-overlay/ and runs it.
//
//   node build.mjs && node bench/overlay/overlay.bench.mjs [--peers 1000] [--runs 5] [--rounds 30] [--no-etcd]
//   node build.mjs && node bench/overlay/overlay.bench.mjs --scale [--peers 5000] [--runs 3] [--rounds 30]
//                      [--quiet-seconds 60] [--churn-seconds 60] [--rate 10] [--weftd OTHER/dist/bin/weftd]
//                      [--intervals '{"probe":3600}']
//
// Program: N peers (route + permanent neighbour + FDB entry each, the VXLAN device and its address) in a
// fresh namespace, by weft's reconcile (read the kernel, plan, one netlink batch) and by `ip -batch` plus
// `bridge -batch` writing the same state from a file (process start included: that is what a script
// pays). Latency: weftd (dist/bin/weftd) in a namespace with an embedded store, then with a one-member etcd
// in the same namespace; the writer runs in that namespace too and polls the node's routes. Repair: in
// the same runs, the device deleted behind weftd's back until every route is back, beside the time weft's
// reconcile takes to program as many peers from nothing (the least a repair can take).
//
// --scale: the program comparison, then one real weftd against a one-member etcd holding N simulated nodes
// (written by the benchmark before weftd starts): start-up to the lease and to every route, /metrics and
// /status sizes, a quiet period (process CPU time from /proc/PID/stat, and the kernel changes `ip monitor`
// sees on weft.1), R leases added and removed one at a time, then nodes joining and leaving at RATE a
// second (store write → the route's kernel notification), every route checked at the end, and weftd's RSS.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundle, cleanEnv, median, namespaceName, repoRoot as root, requireRoot, sh, timedSh } from '../common.mjs';

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '30' },
    'no-etcd': { type: 'boolean', default: false },
    scale: { type: 'boolean', default: false },
    'quiet-seconds': { type: 'string', default: '60' },
    'churn-seconds': { type: 'string', default: '60' },
    rate: { type: 'string', default: '10' },
    /** weftd's "intervals" as JSON (e.g. '{"probe":3600}' to see the quiet cost without probes). */
    intervals: { type: 'string' },
    /** Another build's weftd (its dist/bin/weftd), to run the same figures before and after a change. */
    weftd: { type: 'string' },
  },
});
const PEERS = Number(values.peers);
const RUNS = Number(values.runs);
const ROUNDS = Number(values.rounds);

requireRoot('overlay');
const weftd = values.weftd ?? join(root, 'dist/bin/weftd');
if (!existsSync(weftd)) throw new Error(`${weftd} is missing: run "node build.mjs" first`);
const out = join(root, 'build/bench-overlay');
const work = mkdtempSync(join(tmpdir(), 'wt-bench-overlay-'));
const namespaces = new Set();
const children = new Set();

/** A fresh namespace with an underlay ul0 (198.18.0.0/15, a veth whose peer stays inside). */
function createNamespace() {
  const name = namespaceName('wtbov');
  sh('ip', ['netns', 'add', name]);
  namespaces.add(name);
  for (const cmd of ['link set lo up', 'link add ul0 type veth peer name ul0p', 'link set ul0 up', 'link set ul0p up', 'addr add 198.18.0.0/15 dev ul0']) {
    sh('ip', ['-n', name, ...cmd.split(' ')]);
  }
  return name;
}

function deleteNamespace(name) {
  sh('ip', ['netns', 'delete', name]);
  namespaces.delete(name);
}

function measure(...args) {
  return JSON.parse(sh(process.execPath, [join(out, 'measure.mjs'), ...args.map(String)]));
}

// The same peers as measure.ts: peer i has 10.(i>>8).(i&255).0/24 behind 198.18.(i>>8).(i&255).
function peer(i) {
  const [hi, lo] = [i >> 8, i & 255];
  const hex = (b) => b.toString(16).padStart(2, '0');
  return { subnet: `10.${hi}.${lo}.0/24`, gw: `10.${hi}.${lo}.0`, ip: `198.18.${hi}.${lo}`, mac: `02:00:00:00:${hex(hi)}:${hex(lo)}` };
}

function programWithIp(name, n) {
  const peers = Array.from({ length: n }, (_, i) => peer(i + 1));
  const ipLines = [
    'link add weft.1 address 02:ff:00:00:00:01 mtu 1450 type vxlan id 1 local 198.18.0.0 dev ul0 dstport 4789 nolearning',
    'link set weft.1 up',
    'addr add 10.255.255.0/32 dev weft.1',
    ...peers.map((p) => `neigh replace ${p.gw} lladdr ${p.mac} dev weft.1 nud permanent`),
    ...peers.map((p) => `route replace ${p.subnet} via ${p.gw} dev weft.1 onlink proto 87`),
  ];
  const fdbLines = peers.map((p) => `fdb replace ${p.mac} dev weft.1 dst ${p.ip} self permanent`);
  writeFileSync(join(work, 'ip.batch'), `${ipLines.join('\n')}\n`);
  writeFileSync(join(work, 'bridge.batch'), `${fdbLines.join('\n')}\n`);
  // FDB entries need the device, so bridge runs second (as weft's batch follows its device).
  const ipMs = timedSh('ip', ['-n', name, '-batch', join(work, 'ip.batch')]);
  const bridgeMs = timedSh('bridge', ['-n', name, '-batch', join(work, 'bridge.batch')]);
  return { totalMs: ipMs + bridgeMs };
}

/** What either way left in the kernel, to check that both wrote the same state. */
function kernelCounts(name) {
  const routes = JSON.parse(sh('ip', ['-j', '-n', name, 'route', 'show', 'proto', '87']) || '[]').length;
  const neighbours = JSON.parse(sh('ip', ['-j', '-n', name, 'neigh', 'show', 'dev', 'weft.1', 'nud', 'permanent']) || '[]').length;
  const fdb = JSON.parse(sh('bridge', ['-j', '-n', name, 'fdb', 'show', 'dev', 'weft.1']) || '[]').filter((e) => e.dst).length;
  return `${routes} routes, ${neighbours} neighbours, ${fdb} fdb`;
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const fmt = (x) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;

function comparePrograms() {
  const weft = [];
  const ip = [];
  for (let r = 0; r < RUNS; r++) {
    // Alternating, so machine load hits both alike.
    let name = createNamespace();
    weft.push(measure('program', `/run/netns/${name}`, PEERS));
    const weftState = kernelCounts(name);
    deleteNamespace(name);
    name = createNamespace();
    ip.push(programWithIp(name, PEERS));
    const ipState = kernelCounts(name);
    deleteNamespace(name);
    if (weftState !== ipState) throw new Error(`different kernel state: weft ${weftState}, ip ${ipState}`);
    if (r === 0) console.log(`kernel state either way: ${weftState} (+ the device and its address)`);
  }
  const w = median(weft.map((x) => x.firstMs));
  const i = median(ip.map((x) => x.totalMs));
  console.log(`\nProgram ${PEERS} peers in a fresh namespace (median of ${RUNS}; min in brackets):`);
  console.log(`  weft reconcile (read, plan, ${weft[0].firstSteps} changes in one batch)  ${fmt(w)} [${fmt(Math.min(...weft.map((x) => x.firstMs)))}]`);
  console.log(`  ip -batch + bridge -batch                       ${fmt(i)} [${fmt(Math.min(...ip.map((x) => x.totalMs)))}]`);
  console.log(`  weft / ip ratio                                 ${(w / i).toFixed(2)}x`);
  console.log(`  then, with ${PEERS} peers in place: a run with nothing to do ${fmt(median(weft.map((x) => x.idleMs)))}, ` +
    `one peer more ${fmt(median(weft.map((x) => x.addOneMs)))} (${weft[0].addOneSteps} changes), ` +
    `one peer less ${fmt(median(weft.map((x) => x.removeOneMs)))} (${weft[0].removeOneSteps} changes)`);
  return w;
}

function startInNamespace(name, argv, onLine) {
  const child = spawn('ip', ['netns', 'exec', name, ...argv], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let partial = '';
  child.stderr.on('data', (c) => {
    stderr = (stderr + c).slice(-8000);
    if (!onLine) return;
    const lines = (partial + c).split('\n');
    partial = lines.pop();
    for (const line of lines) onLine(line);
  });
  children.add(child);
  return { child, stderr: () => stderr };
}

async function stopChild(c) {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  const exited = new Promise((resolve) => c.child.once('exit', resolve));
  c.child.kill('SIGTERM');
  await exited;
  children.delete(c.child);
}

async function waitFor(what, check, c, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (c.child.exitCode !== null) throw new Error(`${what}: exited\n${c.stderr()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${c.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const curl = (name, url) => spawnSync('ip', ['netns', 'exec', name, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '2', url], { encoding: 'utf8' }).stdout;

/** A one-member etcd on the namespace's loopback. */
async function startEtcd(name, dir) {
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  const etcd = startInNamespace(name, ['/usr/bin/etcd', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', 'http://127.0.0.1:2379',
    '--advertise-client-urls', 'http://127.0.0.1:2379', '--listen-peer-urls', 'http://127.0.0.1:2380', '--log-level', 'error']);
  await waitFor('etcd', () => curl(name, 'http://127.0.0.1:2379/health') === '200', etcd);
  return etcd;
}

/** weftd's config file in `dir`: node "self", its subnet above the simulated peers'. */
function writeWeftdConfig(dir, store, logLevel, intervals) {
  const config = { nodeName: 'self', stateDir: dir, subnetFile: join(dir, 'subnet.env'), store, underlay: { interface: 'ul0' },
    api: { socket: join(dir, 'weftd.sock'), overlayDataDir: join(dir, 'overlay') }, ...(intervals ? { intervals } : {}),
    listen: '127.0.0.1:9475', logLevel, network: { network: '10.0.0.0/8', subnetLen: 24, subnetMin: '10.255.0.0', vni: 1 } };
  writeFileSync(join(dir, 'weftd.json'), JSON.stringify(config));
  return join(dir, 'weftd.json');
}

async function latency(kind, peers) {
  const name = createNamespace();
  const dir = join(work, `${kind}-${peers}`);
  mkdirSync(dir);
  let etcd;
  const store = kind === 'embedded' ? { type: 'embedded', path: join(dir, 'leases.json') } : { type: 'etcd', endpoints: ['http://127.0.0.1:2379'], prefix: '/weft/bench' };
  try {
    if (kind === 'etcd') etcd = await startEtcd(name, dir);
    const daemon = startInNamespace(name, [process.execPath, weftd, '--config', writeWeftdConfig(dir, store, 'warn')]);
    await waitFor('weftd ready', () => curl(name, 'http://127.0.0.1:9475/readyz') === '200', daemon);
    const arg = kind === 'embedded' ? store.path : 'http://127.0.0.1:2379';
    const result = JSON.parse(sh('ip', ['netns', 'exec', name, process.execPath, join(out, 'measure.mjs'), 'latency', kind, arg, peers, ROUNDS]));
    await stopChild(daemon);
    return result;
  } finally {
    if (etcd) await stopChild(etcd);
    deleteNamespace(name);
  }
}

async function latencies(programMs) {
  console.log(`\nNew lease in the store → route on the node, through weftd (${ROUNDS} leases, one at a time):`);
  console.log(`  ${'store, peers already held'.padEnd(30)} ${'p50'.padStart(9)} ${'p90'.padStart(9)} ${'max'.padStart(9)}   store write p50`);
  const repairs = [];
  for (const kind of values['no-etcd'] ? ['embedded'] : ['embedded', 'etcd']) {
    for (const peers of [0, PEERS]) {
      const r = await latency(kind, peers);
      console.log(`  ${`${kind}, ${peers}`.padEnd(30)} ${fmt(median(r.totalMs)).padStart(9)} ${fmt(pct(r.totalMs, 0.9)).padStart(9)} ` +
        `${fmt(Math.max(...r.totalMs)).padStart(9)}   ${fmt(median(r.writeMs))}`);
      if (kind === 'embedded') repairs.push({ held: peers + ROUNDS, ms: r.repairMs });
    }
  }
  console.log(`\nDevice deleted behind weftd's back → every route back (embedded store, ${ROUNDS} times):`);
  for (const { held, ms } of repairs) {
    console.log(`  ${`${held} peers`.padEnd(12)} p50 ${fmt(median(ms))}  p90 ${fmt(pct(ms, 0.9))}  max ${fmt(Math.max(...ms))}`);
  }
  console.log(`  for scale: programming ${PEERS} peers from nothing (weft reconcile, above) ${fmt(programMs)}; ` +
    `repair / that ${(median(repairs.at(-1).ms) / programMs).toFixed(2)}x`);
}

/** A process's user and system CPU time, in seconds (clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)[1]);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

const bytes = (name, path) => Number(spawnSync('ip', ['netns', 'exec', name, 'curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', '-m', '10',
  `http://127.0.0.1:9475${path}`], { encoding: 'utf8' }).stdout);
const metric = (name, line) => {
  const text = spawnSync('ip', ['netns', 'exec', name, 'curl', '-s', '-m', '10', 'http://127.0.0.1:9475/metrics'], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
  return Number(new RegExp(`^${line} (\\S+)$`, 'm').exec(text)?.[1]);
};
const routeCount = (name) => JSON.parse(sh('ip', ['-j', '-n', name, 'route', 'show', 'dev', 'weft.1']) || '[]').length;

async function scale() {
  const peers = PEERS;
  const name = createNamespace();
  const dir = join(work, 'scale');
  mkdirSync(dir);
  let etcd;
  let monitor;
  try {
    etcd = await startEtcd(name, dir);
    const inNs = (...args) => JSON.parse(sh('ip', ['netns', 'exec', name, process.execPath, join(out, 'measure.mjs'), ...args.map(String)]));
    const written = inNs('populate', 'http://127.0.0.1:2379', peers);
    console.log(`\n--scale: ${peers} simulated nodes written to etcd 3.4 in ${fmt(written.ms)} (100 a transaction, an etcd lease each)`);
    const listed = inNs('list', 'http://127.0.0.1:2379', peers);
    console.log(`  listing every lease with its expiry (the start-up read): ${fmt(listed.withTtlMs)} with the TTL in each record, ` +
      `${fmt(listed.withoutTtlMs)} asking etcd each lease's time to live (as before; ${(listed.withoutTtlMs / listed.withTtlMs).toFixed(1)}x)`);
    let leaseAt;
    const intervals = values.intervals === undefined ? undefined : JSON.parse(values.intervals);
    const config = writeWeftdConfig(dir, { type: 'etcd', endpoints: ['http://127.0.0.1:2379'], prefix: '/weft/bench' }, 'info', intervals);
    const started = performance.now();
    const daemon = startInNamespace(name, [process.execPath, weftd, '--config', config], (line) => {
      if (leaseAt === undefined && /"msg":"(acquired a new lease|reusing this node's lease)"/.test(line)) leaseAt = performance.now();
    });
    const pid = daemon.child.pid;
    await waitFor('weftd ready', () => curl(name, 'http://127.0.0.1:9475/readyz') === '200', daemon, 60_000);
    const readyAt = performance.now();
    await waitFor(`${peers} routes`, () => routeCount(name) >= peers, daemon, 60_000);
    const routedAt = performance.now();
    console.log(`  start-up (process start →): lease ${fmt(leaseAt - started)}, ready ${fmt(readyAt - started)}, ` +
      `every route ${fmt(routedAt - started)} (polled every 100 ms)`);
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const settled = memory(pid);
    console.log(`  /metrics ${(bytes(name, '/metrics') / 1024).toFixed(1)} KiB a scrape (with ?detail=peers ` +
      `${(bytes(name, '/metrics?detail=peers') / 1024).toFixed(0)} KiB); /status ${(bytes(name, '/status') / 1024).toFixed(1)} KiB ` +
      `(a page of 100 peers; all ${peers} at once: ${(bytes(name, `/status?limit=${peers}`) / 1024).toFixed(0)} KiB)`);

    // Quiet: nothing changes in the store; the daemon probes and runs its periodic checks.
    const quiet = Number(values['quiet-seconds']);
    let kernelEvents = 0;
    monitor = spawn('ip', ['-n', name, 'monitor', 'route', 'neigh', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.add(monitor);
    monitor.stdout.on('data', (c) => (kernelEvents += String(c).split('\n').filter((l) => l.includes('weft.1')).length));
    const changesBefore = metric(name, 'weft_datapath_changes_total');
    const cpuBefore = cpuSeconds(pid);
    await new Promise((resolve) => setTimeout(resolve, quiet * 1000));
    const cpuAfter = cpuSeconds(pid);
    const user = cpuAfter.user - cpuBefore.user;
    const cpu = user + cpuAfter.system - cpuBefore.system;
    const changes = metric(name, 'weft_datapath_changes_total') - changesBefore;
    monitor.kill();
    console.log(`  quiet ${quiet} s with ${peers} peers: weftd CPU ${(cpu * 1000).toFixed(0)} ms = ${((cpu / quiet) * 100).toFixed(2)}% of a core ` +
      `(process time, ${((user / cpu) * 100).toFixed(0)}% of it user); kernel changes ${changes} by weftd's count, ${kernelEvents} weft.1 events seen by ip monitor`);

    const rate = Number(values.rate);
    const churnSeconds = Number(values['churn-seconds']);
    const r = inNs('churn', 'http://127.0.0.1:2379', peers, ROUNDS, rate, churnSeconds);
    const line = (label, xs) => `  ${label.padEnd(44)} p50 ${fmt(median(xs)).padStart(9)}  p99 ${fmt(pct(xs, 0.99)).padStart(9)}  max ${fmt(Math.max(...xs)).padStart(9)}`;
    console.log(`\n  store write → route notification, ${peers} held (${ROUNDS} each, one at a time):`);
    console.log(line('one lease added', r.addMs));
    console.log(line('one lease removed', r.removeMs));
    console.log(line(`churn: ${rate}/s joining and leaving for ${churnSeconds} s`, r.churnMs));
    console.log(`  after the churn: ${r.live} leases, ${r.routes} routes in the kernel, ${r.missing} missing, ${r.extra} extra; ${r.neighbours} permanent neighbours`);
    const end = memory(pid);
    console.log(`  weftd RSS: ${settled.rssMiB.toFixed(0)} MiB settled after start-up, ${end.rssMiB.toFixed(0)} MiB after the churn, peak ${end.peakMiB.toFixed(0)} MiB`);
    await stopChild(daemon);
  } finally {
    monitor?.kill();
    if (etcd) await stopChild(etcd);
    deleteNamespace(name);
  }
}

try {
  await bundle({ entryPoints: { measure: join(root, 'bench/overlay/measure.ts') }, outdir: out, embedAddon: true });
  const programMs = comparePrograms();
  if (values.scale) await scale();
  else await latencies(programMs);
} finally {
  for (const child of children) child.kill('SIGKILL');
  for (const name of namespaces) spawnSync('ip', ['netns', 'delete', name]);
  rmSync(work, { recursive: true, force: true });
}
