#!/usr/bin/env node
// ADD and DEL latency of weft's bridge + host-local, standalone and served by weftd, beside the reference
// bridge + host-local (Debian's containernetworking-plugins in /usr/lib/cni), run the same way in the same
// run, as ratios; and the overlay plugin's ADD and DEL through weftd (its endpoint registration included).
//
//   node build.mjs && node bench/cni/bridge.bench.mjs [--containers 100] [--concurrent 50] [--startup 30]
//
// Each plugin process is started as a runtime starts it: a clean environment (PATH and the CNI_ variables
// only, so no NODE_EXTRA_CA_CERTS), the config on stdin, from a process that already sits in the host's
// network namespace — a throwaway namespace made here, never the machine's own. The sides share that host
// (own bridges, own subnets, own IPAM stores) and take turns container by container, so load on the
// machine falls on all alike. Start-up time of the plugin process is part of every figure.
//
// Sides: the reference; weft standalone (the launcher told WEFT_RESIDENT=off: it runs the Node plugin, as
// on a host without weftd); weft through weftd (the same launcher, a weftd in the host serving the call);
// the overlay plugin through weftd. weftd is the built dist/bin/weftd with an embedded store and an
// underlay veth inside the host, started by the driver (so in the driver's mount namespace, as a service
// and a runtime on one host are).
//
// Config: bridge + host-local, isDefaultGateway, ipMasq (the reference masquerades with iptables, weft with
// nftables), one IPv4 /16; cniVersion 1.0.0 (the newest the reference speaks).
//
// Root only. Everything made here (namespaces, IPAM folders, weftd) is removed by exact name at the end,
// also on failure or Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanEnv, repoRoot, runClean, runCleanAsync, sh } from '../common.mjs';

const impls = [
  { name: 'reference', binDir: '/usr/lib/cni', plugin: 'bridge', bridge: 'wtbref0', subnet: '10.201.0.0/16' },
  { name: 'standalone', binDir: join(repoRoot, 'dist/bin'), plugin: 'bridge', bridge: 'wtbweft0', subnet: '10.202.0.0/16', vars: { WEFT_RESIDENT: 'off' } },
  { name: 'weftd', binDir: join(repoRoot, 'dist/bin'), plugin: 'bridge', bridge: 'wtbwd0', subnet: '10.203.0.0/16' },
  { name: 'overlay', binDir: join(repoRoot, 'dist/bin'), plugin: 'overlay' },
];
const weftSides = new Set(['standalone', 'weftd', 'overlay']);

function fail(message) {
  process.stderr.write(`bench/cni: ${message}\n`);
  process.exit(1);
}

// ---- Outer: make the namespaces, run the measurements inside the host, remove everything ----

function outer() {
  const { values } = parseArgs({
    options: { containers: { type: 'string', default: '100' }, concurrent: { type: 'string', default: '50' }, startup: { type: 'string', default: '30' } },
  });
  if (process.getuid?.() !== 0) fail('needs root (network namespaces)');
  for (const impl of impls) if (!existsSync(join(impl.binDir, impl.plugin)) || !existsSync(join(impl.binDir, 'host-local'))) fail(`${impl.binDir}/${impl.plugin} or host-local missing`);
  const containers = Number(values.containers);
  const concurrent = Number(values.concurrent);
  const tag = Math.random().toString(36).slice(2, 7);
  const host = `wtbh${tag}`;
  // Per implementation: one warm-up container, the sequential ones, the concurrent ones.
  const perImpl = 1 + containers + concurrent;
  const names = impls.flatMap((_, i) => Array.from({ length: perImpl }, (_, j) => `wtb${i}${tag}${j}`));
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-bench-cni-'));
  // weft's plugins as a user has them: put in place by `weft install`, which names this Node on line 1.
  const weftBinDir = join(dataDir, 'bin');
  const made = [];
  const cleanup = () => {
    for (const name of made.splice(0).reverse()) spawnSync('ip', ['netns', 'delete', name]);
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => process.exit(130));
  for (const name of [host, ...names]) {
    sh('ip', ['netns', 'add', name]);
    made.push(name);
  }
  sh('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
  // weftd's underlay: a veth whose peer stays in the host.
  for (const cmd of ['link add ul0 type veth peer name ul0p', 'link set ul0 up', 'link set ul0p up', 'addr add 198.18.0.1/24 dev ul0']) {
    sh('ip', ['-n', host, ...cmd.split(' ')]);
  }
  sh(join(repoRoot, 'dist/bin/weft'), ['install', '--bin-dir', weftBinDir, '--conf-dir', join(dataDir, 'conf')]);
  const inner = spawnSync('ip', ['netns', 'exec', host, process.execPath, fileURLToPath(import.meta.url), '--inner'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, WEFT_BENCH: JSON.stringify({ tag, names, perImpl, containers, concurrent, startup: Number(values.startup), dataDir, weftBinDir }) },
  });
  cleanup();
  process.exit(inner.status ?? 1);
}

// ---- Inner: runs in the host namespace ----

function configOf(impl, dataDir) {
  if (impl.plugin === 'overlay') {
    return JSON.stringify({
      cniVersion: '1.0.0', name: 'wtbench-overlay', type: 'overlay',
      subnetFile: join(dataDir, 'weftd/subnet.env'), dataDir: join(dataDir, 'weftd/overlay'), socket: join(dataDir, 'weftd/api.sock'),
      ipamDataDir: join(dataDir, 'overlay-ipam'),
    });
  }
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: `wtbench-${impl.name}`,
    type: 'bridge',
    bridge: impl.bridge,
    isDefaultGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', subnet: impl.subnet, dataDir: join(dataDir, impl.name) },
  });
}

function varsOf(impl, command, container) {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: container,
    CNI_NETNS: `/run/netns/${container}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: impl.binDir,
    ...impl.vars,
  };
}

/** weftd in the host, overlay on an embedded store, serving plugin calls; resolves once ready. */
async function startWeftd(dataDir) {
  const dir = join(dataDir, 'weftd');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'weftd.json');
  writeFileSync(config, JSON.stringify({
    nodeName: 'bench', stateDir: dir, subnetFile: join(dir, 'subnet.env'), store: { type: 'embedded', path: join(dir, 'leases.json') },
    underlay: { interface: 'ul0' }, listen: '127.0.0.1:9475', logLevel: 'warn', api: { socket: join(dir, 'api.sock'), overlayDataDir: join(dir, 'overlay') },
    network: { network: '10.244.0.0/16', vni: 7 },
  }));
  const child = spawn(process.execPath, [join(repoRoot, 'dist/bin/weftd'), '--config', config], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'inherit'] });
  process.on('exit', () => child.kill('SIGTERM'));
  for (let waited = 0; ; waited += 100) {
    const ready = await fetch('http://127.0.0.1:9475/readyz').then((r) => r.ok, () => false);
    if (ready) return child;
    if (waited > 30_000 || child.exitCode !== null) fail('weftd did not get ready');
    await new Promise((wake) => setTimeout(wake, 100));
  }
}

/** weftd's count of the calls it ran (the weftd side must have been served, every call). */
async function servedCalls() {
  const text = await (await fetch('http://127.0.0.1:9475/metrics')).text();
  return text.split('\n').filter((l) => l.startsWith('weft_plugin_calls_total{')).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

function checkOutput(impl, command, container, status, stdout, stderr) {
  if (status !== 0) fail(`${impl.name} ${command} ${container}: exit ${status}\n${stdout}${stderr}`);
}

/** One plugin run, timed from start to exit, in ms. */
function timed(impl, command, container, config) {
  const result = runClean(join(impl.binDir, impl.plugin), [], { vars: varsOf(impl, command, container), input: config });
  checkOutput(impl, command, container, result.status, result.stdout, result.stderr);
  return result.ms;
}

async function timedAsync(impl, command, container, config) {
  const result = await runCleanAsync(join(impl.binDir, impl.plugin), [], { vars: varsOf(impl, command, container), input: config });
  checkOutput(impl, command, container, result.status, result.stdout, result.stderr);
  return result.ms;
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { median: at(0.5), p95: at(0.95), n: sorted.length };
}

async function concurrentRound(impl, command, containers, config) {
  const start = process.hrtime.bigint();
  const each = await Promise.all(containers.map((c) => timedAsync(impl, command, c, config)));
  return { each: stats(each), makespan: Number(process.hrtime.bigint() - start) / 1e6 };
}

async function inner() {
  const p = JSON.parse(process.env.WEFT_BENCH);
  for (const impl of impls) if (weftSides.has(impl.name)) impl.binDir = p.weftBinDir;
  const weftd = await startWeftd(p.dataDir);
  const containersOf = (i) => p.names.slice(i * p.perImpl, (i + 1) * p.perImpl);
  const runs = impls.map((impl, i) => {
    const names = containersOf(i);
    return { impl, config: configOf(impl, p.dataDir), warm: names[0], seq: names.slice(1, 1 + p.containers), conc: names.slice(1 + p.containers) };
  });
  const results = Object.fromEntries(impls.map((impl) => [impl.name, { add: [], del: [], startup: [] }]));
  const bareNode = [];

  // Start-up alone: VERSION, which every plugin answers without touching the system; and, for scale, a
  // Node process that does nothing.
  const startupTime = (file, args, vars) => runClean(file, args, { vars, input: '{"cniVersion":"1.0.0"}' }).ms;
  for (let k = 0; k < p.startup; k++) {
    for (const { impl } of runs) results[impl.name].startup.push(startupTime(join(impl.binDir, impl.plugin), [], { CNI_COMMAND: 'VERSION', ...impl.vars }));
    bareNode.push(startupTime(process.execPath, ['-e', '0']));
  }
  // Warm-up, not counted: the first ADD creates the bridge and the IPAM store, and the first run of each
  // command leaves weft's compile cache for it (lib/cni/code-cache.ts).
  for (const run of runs) {
    timed(run.impl, 'ADD', run.warm, run.config);
    timed(run.impl, 'DEL', run.warm, run.config);
  }
  // Sequential, taking turns (the order flips each round so neither always runs first).
  for (let k = 0; k < p.containers; k++) {
    for (const run of k % 2 === 0 ? runs : [...runs].reverse()) results[run.impl.name].add.push(timed(run.impl, 'ADD', run.seq[k], run.config));
  }
  for (let k = 0; k < p.containers; k++) {
    for (const run of k % 2 === 0 ? runs : [...runs].reverse()) results[run.impl.name].del.push(timed(run.impl, 'DEL', run.seq[k], run.config));
  }
  // Concurrent: all ADDs at once, then all DELs at once, one implementation after the other.
  for (const run of runs) {
    results[run.impl.name].concurrentAdd = await concurrentRound(run.impl, 'ADD', run.conc, run.config);
    results[run.impl.name].concurrentDel = await concurrentRound(run.impl, 'DEL', run.conc, run.config);
  }
  const served = await servedCalls();
  weftd.kill('SIGTERM');
  // Every weftd-side call (and the overlay's) must have been served: warm-up, sequential, concurrent, VERSION.
  const expected = 2 * (2 * (1 + p.containers + p.concurrent) + p.startup);
  if (served !== expected) fail(`weftd served ${served} calls, expected ${expected}: some fell back`);
  report(results, bareNode, p);
}

function report(results, bareNode, p) {
  const ref = results.reference;
  const f = (ms) => ms.toFixed(1);
  const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
  const rows = [];
  const row = (what, pick) => {
    const [r, a, b] = ['reference', 'standalone', 'weftd'].map((side) => pick(results[side]));
    rows.push(`| ${what} | ${f(r)} | ${f(a)} | ${ratio(a, r)} | ${f(b)} | ${ratio(b, r)} |`);
  };
  for (const [label, key] of [['ADD', 'add'], ['DEL', 'del']]) {
    row(`${label} median (${p.containers} containers, one at a time)`, (side) => stats(side[key]).median);
    row(`${label} p95`, (side) => stats(side[key]).p95);
  }
  for (const [label, key] of [['ADD', 'concurrentAdd'], ['DEL', 'concurrentDel']]) {
    row(`${p.concurrent} concurrent ${label}s: all done after`, (side) => side[key].makespan);
    row(`${p.concurrent} concurrent ${label}s: median of each`, (side) => side[key].each.median);
  }
  row(`start-up alone (VERSION, median of ${p.startup})`, (side) => stats(side.startup).median);
  rows.push(`| for scale: \`node -e 0\`, median of ${bareNode.length} | | ${f(stats(bareNode).median)} | | | |`);
  const overlay = results.overlay;
  const median = (side, key) => stats(side[key]).median;
  const lines = [
    `bridge + host-local, ms, ${new Date().toISOString()}, load average ${loadAverage()}`,
    '',
    '| | reference | weft standalone | / reference | weft via weftd | / reference |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `overlay via weftd (endpoint registration included): ADD median ${f(median(overlay, 'add'))} (${ratio(median(overlay, 'add'), median(ref, 'add'))} the reference bridge ADD), ` +
      `DEL median ${f(median(overlay, 'del'))} (${ratio(median(overlay, 'del'), median(ref, 'del'))}); ${p.concurrent} concurrent ADDs all done after ${f(overlay.concurrentAdd.makespan)}`,
    `targets via weftd: ADD median ≤ 0.35× (${ratio(median(results.weftd, 'add'), median(ref, 'add'))}), DEL median ≤ 0.40× (${ratio(median(results.weftd, 'del'), median(ref, 'del'))}), ` +
      `${p.concurrent} concurrent ADDs ≤ 0.30× (${ratio(results.weftd.concurrentAdd.makespan, ref.concurrentAdd.makespan)}); ` +
      `standalone: ADD ≤ 1.60× (${ratio(median(results.standalone, 'add'), median(ref, 'add'))}), DEL ≤ 0.80× (${ratio(median(results.standalone, 'del'), median(ref, 'del'))})`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

if (process.argv.includes('--inner')) await inner();
else outer();
