#!/usr/bin/env node
// host-local latency: weft's dist/bin/host-local beside the reference /usr/lib/cni/host-local, run the same
// way in the same run (alternating, so machine load hits both alike), as a runtime runs them: a clean
// environment (PATH and CNI_* only: NODE_EXTRA_CA_CERTS alone would add ~90 ms to every Node start).
//
//   node build.mjs && node bench/ipam/host-local.bench.mjs [--runs 200] [--large-runs 200] [--allocations 60000]
//
// Scenarios: VERSION (start-up), ADD and DEL on a fresh store, ADD and DEL on a store already holding
// 60,000 allocations (each ADD is followed by the DEL of the same container, so the size stays put).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot as root, runClean } from '../common.mjs';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    'large-runs': { type: 'string', default: '200' },
    allocations: { type: 'string', default: '60000' },
  },
});
const RUNS = Number(values.runs);
const LARGE_RUNS = Number(values['large-runs']);
const ALLOCATIONS = Number(values.allocations);

const built = join(root, 'dist/bin/host-local');
const REFERENCE = '/usr/lib/cni/host-local';
if (!existsSync(built)) throw new Error(`${built} is missing: run "node build.mjs" first`);
const work = mkdtempSync(join(tmpdir(), 'wt-bench-ipam-'));
// Outside the repository, as in /opt/cni/bin (here package.json would make Node load it as an ES module).
const ours = join(work, 'host-local');
copyFileSync(built, ours);
const haveReference = existsSync(REFERENCE);

function run(binary, command, { containerId, config } = {}) {
  const vars = { CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' };
  if (containerId) Object.assign(vars, { CNI_CONTAINERID: containerId, CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/wt-bench' });
  const input = config ? JSON.stringify(config) : '';
  const child = runClean(binary, [], { vars, input });
  if (child.status !== 0) throw new Error(`${binary} ${command} ${containerId ?? ''} failed: ${child.stdout}${child.stderr}`);
  return child.ms;
}

function configFor(name) {
  const dataDir = join(work, `store-${name}`);
  mkdirSync(dataDir, { recursive: true });
  // cniVersion 1.0.0: the newest the reference speaks.
  return { cniVersion: '1.0.0', name: 'wtbench', type: 'bridge', ipam: { type: 'host-local', dataDir, subnet: '10.128.0.0/15' } };
}

/** Writes `count` allocations in the reference layout, as if that many containers had been added. */
function populate(config, count) {
  const dir = join(config.ipam.dataDir, config.name);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const n = i + 2;
    writeFileSync(join(dir, `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`), `pre-${i}\r\neth0`, { mode: 0o600 });
  }
  const last = count + 1;
  writeFileSync(join(dir, 'last_reserved_ip.0'), `10.${128 + (last >> 16)}.${(last >> 8) & 255}.${last & 255}`);
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { median: at(0.5), p95: at(0.95) };
}

const subjects = [{ name: 'weft', binary: ours }];
if (haveReference) subjects.push({ name: 'reference', binary: REFERENCE });
else console.log(`(reference ${REFERENCE} not installed: weft figures only)`);
const results = [];

/** Runs `step(subject, i)` `runs` times for every subject, alternating who goes first. */
function measure(label, runs, step) {
  const samples = new Map(subjects.map((s) => [s.name, []]));
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? subjects : [...subjects].reverse();
    for (const subject of order) samples.get(subject.name).push(step(subject, i));
  }
  results.push({ label, runs, ...Object.fromEntries([...samples].map(([name, list]) => [name, stats(list)])) });
}

// Start-up: the plugin answering VERSION, beside bare Node.
const nodeBare = stats(Array.from({ length: RUNS }, () => runClean(process.execPath, ['-e', '0']).ms));
measure('VERSION', RUNS, (s) => run(s.binary, 'VERSION'));

const fresh = Object.fromEntries(subjects.map((s) => [s.name, configFor(`fresh-${s.name}`)]));
measure('ADD, fresh store', RUNS, (s, i) => run(s.binary, 'ADD', { containerId: `c${i}`, config: fresh[s.name] }));
measure('DEL, fresh store', RUNS, (s, i) => run(s.binary, 'DEL', { containerId: `c${i}`, config: fresh[s.name] }));

const large = Object.fromEntries(subjects.map((s) => [s.name, configFor(`large-${s.name}`)]));
for (const s of subjects) populate(large[s.name], ALLOCATIONS);
const largeLabel = `${ALLOCATIONS.toLocaleString('en')} allocations`;
const dels = new Map(subjects.map((s) => [s.name, []]));
measure(`ADD, ${largeLabel}`, LARGE_RUNS, (s, i) => {
  const ms = run(s.binary, 'ADD', { containerId: `big${i}`, config: large[s.name] });
  dels.get(s.name).push(run(s.binary, 'DEL', { containerId: `big${i}`, config: large[s.name] }));
  return ms;
});
results.push({ label: `DEL, ${largeLabel}`, runs: LARGE_RUNS, ...Object.fromEntries([...dels].map(([name, list]) => [name, stats(list)])) });

rmSync(work, { recursive: true, force: true });

const f = (n) => n.toFixed(1).padStart(7);
console.log(`\nhost-local latency in ms (median / p95), clean environment, ${new Date().toISOString()}`);
console.log(`node -e 0: ${f(nodeBare.median)} / ${f(nodeBare.p95)}`);
console.log(`${'scenario'.padEnd(30)} ${'runs'.padStart(5)}   ${'weft'.padStart(17)}   ${'reference'.padStart(17)}   weft/ref (median)`);
for (const r of results) {
  const ref = r.reference ? `${f(r.reference.median)} / ${f(r.reference.p95)}` : '-'.padStart(17);
  const ratio = r.reference ? (r.weft.median / r.reference.median).toFixed(2) : '-';
  console.log(`${r.label.padEnd(30)} ${String(r.runs).padStart(5)}   ${f(r.weft.median)} / ${f(r.weft.p95)}   ${ref}   ${ratio}`);
}
