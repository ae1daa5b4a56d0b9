#!/usr/bin/env node
// ADD and DEL latency of weft's bridge + host-local beside the reference bridge + host-local (Debian's
// containernetworking-plugins in /usr/lib/cni), run the same way in the same run, as ratios.
//
//   node build.mjs && node bench/cni/bridge.bench.mjs [--containers 100] [--concurrent 50] [--startup 30]
//
// Each plugin process is started as a runtime starts it: a clean environment (PATH and the CNI_ variables
// only, so no NODE_EXTRA_CA_CERTS), the config on stdin, from a process that already sits in the host's
// network namespace — a throwaway namespace made here, never the machine's own. Both implementations share
// that host (own bridges, own subnets, own IPAM stores) and take turns container by container, so load on
// the machine falls on both alike. Start-up time of the plugin process is part of every figure.
//
// Config: bridge + host-local, isDefaultGateway, ipMasq (the reference masquerades with iptables, weft with
// nftables), one IPv4 /16; cniVersion 1.0.0 (the newest the reference speaks).
//
// Root only. Everything made here (namespaces, IPAM folders) is removed by exact name at the end, also on
// failure or Ctrl-C.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot, runClean, runCleanAsync, sh } from '../common.mjs';

const impls = [
  { name: 'reference', binDir: '/usr/lib/cni', bridge: 'wtbref0', subnet: '10.201.0.0/16' },
  { name: 'weft', binDir: join(repoRoot, 'dist/bin'), bridge: 'wtbweft0', subnet: '10.202.0.0/16' },
];

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
  for (const impl of impls) if (!existsSync(join(impl.binDir, 'bridge')) || !existsSync(join(impl.binDir, 'host-local'))) fail(`${impl.binDir}/bridge or host-local missing`);
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
  };
}

function checkOutput(impl, command, container, status, stdout, stderr) {
  if (status !== 0) fail(`${impl.name} ${command} ${container}: exit ${status}\n${stdout}${stderr}`);
}

/** One plugin run, timed from start to exit, in ms. */
function timed(impl, command, container, config) {
  const result = runClean(join(impl.binDir, 'bridge'), [], { vars: varsOf(impl, command, container), input: config });
  checkOutput(impl, command, container, result.status, result.stdout, result.stderr);
  return result.ms;
}

async function timedAsync(impl, command, container, config) {
  const result = await runCleanAsync(join(impl.binDir, 'bridge'), [], { vars: varsOf(impl, command, container), input: config });
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
  impls[1].binDir = p.weftBinDir;
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
    for (const { impl } of runs) results[impl.name].startup.push(startupTime(join(impl.binDir, 'bridge'), [], { CNI_COMMAND: 'VERSION' }));
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
  report(results, bareNode, p);
}

function report(results, bareNode, p) {
  const ref = results.reference;
  const weft = results.weft;
  const f = (ms) => ms.toFixed(1);
  const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
  const rows = [];
  const row = (what, a, b) => rows.push(`| ${what} | ${f(b)} | ${f(a)} | ${ratio(a, b)} |`);
  for (const [label, key] of [['ADD', 'add'], ['DEL', 'del']]) {
    const s = { ref: stats(ref[key]), weft: stats(weft[key]) };
    row(`${label} median (${s.weft.n} containers, one at a time)`, s.weft.median, s.ref.median);
    row(`${label} p95`, s.weft.p95, s.ref.p95);
  }
  for (const [label, key] of [['ADD', 'concurrentAdd'], ['DEL', 'concurrentDel']]) {
    row(`${p.concurrent} concurrent ${label}s: all done after`, weft[key].makespan, ref[key].makespan);
    row(`${p.concurrent} concurrent ${label}s: median of each`, weft[key].each.median, ref[key].each.median);
    row(`${p.concurrent} concurrent ${label}s: p95 of each`, weft[key].each.p95, ref[key].each.p95);
  }
  const su = { ref: stats(ref.startup), weft: stats(weft.startup) };
  row(`start-up alone (VERSION, median of ${su.weft.n})`, su.weft.median, su.ref.median);
  rows.push(`| for scale: \`node -e 0\`, median of ${bareNode.length} | | ${f(stats(bareNode).median)} | |`);
  const size = (dir) => statSync(join(dir, 'bridge')).size;
  const lines = [
    `bridge + host-local, ms (weft / reference), ${new Date().toISOString()}, load average ${loadAverage()}`,
    '',
    '| | reference | weft | weft / reference |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
    `bundle: weft bridge ${(size(impls[1].binDir) / 1024).toFixed(0)} KiB (one file, the netlink addon inside); reference bridge ${(size(impls[0].binDir) / 1024 / 1024).toFixed(1)} MiB`,
    `targets: ADD median ≤ 1.30× (${ratio(stats(weft.add).median, stats(ref.add).median)}), DEL median ≤ 1.00× (${ratio(stats(weft.del).median, stats(ref.del).median)})`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

if (process.argv.includes('--inner')) await inner();
else outer();
