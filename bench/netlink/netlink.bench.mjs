#!/usr/bin/env node
// lib/netlink against its budget (load ≤ 5 ms, namespace switch ≤ 0.1 ms) and beside `ip -batch`:
// creating and deleting 1,000 veth pairs and installing 10,000 routes, each in a fresh throwaway
// namespace. The layer runs as plugins run it: bundled as CommonJS with the addon embedded (so it is
// loaded from /run/weft), in a clean environment (PATH only; NODE_EXTRA_CA_CERTS would slow every start).
//
//   node build.mjs native && node bench/netlink/netlink.bench.mjs [--veths 1000] [--veth-runs 1] [--routes 10000] [--runs 5] [--load-runs 30]
//
// Deleting a link waits for an RCU grace period in the kernel (~20 ms here), so the veth work takes
// about 20 s per variant whoever sends the requests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bundle, median, namespaceName, repoRoot as root, requireRoot, sh, timedSh } from '../common.mjs';

const { values } = parseArgs({
  options: {
    veths: { type: 'string', default: '1000' },
    routes: { type: 'string', default: '10000' },
    'load-runs': { type: 'string', default: '30' },
    runs: { type: 'string', default: '5' },
    'veth-runs': { type: 'string', default: '1' },
  },
});
const VETHS = Number(values.veths);
const ROUTES = Number(values.routes);
const LOAD_RUNS = Number(values['load-runs']);
const RUNS = Number(values.runs);
const VETH_RUNS = Number(values['veth-runs']);

requireRoot('netlink');
const work = mkdtempSync(join(tmpdir(), 'wt-bench-netlink-'));
const namespaces = new Set();

function bundleLayer() {
  // CommonJS, minified, as the plugins' bundles are.
  return bundle({
    entryPoints: { netlink: join(root, 'lib/netlink/index.ts'), measure: join(root, 'bench/netlink/measure.ts') },
    outdir: work,
    format: 'cjs',
    embedAddon: true,
    minify: true,
    logLevel: 'error',
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(root, 'lib/netlink/addon.ts')).href) },
  });
}

function withNamespace(fn) {
  const name = namespaceName('wtbnl');
  sh('ip', ['netns', 'add', name]);
  namespaces.add(name);
  try {
    return fn(name, `/run/netns/${name}`);
  } finally {
    sh('ip', ['netns', 'delete', name]);
    namespaces.delete(name);
  }
}

function measure(...args) {
  return JSON.parse(sh(process.execPath, [join(work, 'measure.cjs'), ...args.map(String)]));
}

// Other work on a shared machine only ever adds time: the minimum shows the layer's own cost.
const medianOf = (runs, key) => median(runs.map((r) => r[key]));
const minOf = (runs, key) => Math.min(...runs.map((r) => r[key]));
const ms = (x) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const us = (x) => `${x.toFixed(1)} µs`;

function loadTime() {
  // The first require() of a process sets up the module loader (several ms that a plugin pays for its
  // own file anyway): an empty module takes that first, so the figures are the layer's own.
  writeFileSync(join(work, 'empty.cjs'), 'module.exports = {};\n');
  const probe = `require(${JSON.stringify(join(work, 'empty.cjs'))});
const t0 = performance.now(); const m = require(${JSON.stringify(join(work, 'netlink.cjs'))});
const t1 = performance.now(); const nl = m.Netlink.open(); const t2 = performance.now();
nl.linkByName('lo'); const t3 = performance.now(); nl.close();
process.stdout.write(JSON.stringify({ requireMs: t1 - t0, openMs: t2 - t1, firstRequestMs: t3 - t2 }));`;
  sh(process.execPath, ['-e', probe]); // the first run writes the addon to /run/weft
  const runs = Array.from({ length: LOAD_RUNS }, () => JSON.parse(sh(process.execPath, ['-e', probe])))
    .map((r) => ({ ...r, loadMs: r.requireMs + r.openMs }));
  const pick = (f) => ({ load: f(runs, 'loadMs'), require: f(runs, 'requireMs'), open: f(runs, 'openMs'), firstRequest: f(runs, 'firstRequestMs') });
  return { median: pick(medianOf), min: pick(minOf) };
}

function vethIp(name) {
  const adds = Array.from({ length: VETHS }, (_, i) => `link add v${i} type veth peer name v${i}p`).join('\n');
  const dels = Array.from({ length: VETHS }, (_, i) => `link del v${i}`).join('\n');
  writeFileSync(join(work, 'veth-add.batch'), `${adds}\n`);
  writeFileSync(join(work, 'veth-del.batch'), `${dels}\n`);
  const createMs = timedSh('ip', ['-n', name, '-batch', join(work, 'veth-add.batch')]);
  const deleteMs = timedSh('ip', ['-n', name, '-batch', join(work, 'veth-del.batch')]);
  return { createMs, deleteMs, totalMs: createMs + deleteMs };
}

function routesIp(name) {
  for (const cmd of ['link add r0 type veth peer name r0p', 'link set r0 up', 'link set r0p up', 'addr add 10.0.0.1/24 dev r0']) {
    sh('ip', ['-n', name, ...cmd.split(' ')]);
  }
  // The same prefixes as measure.ts: 10.1.0.0/24 upwards.
  const lines = Array.from({ length: ROUTES }, (_, i) => {
    const v = 0x0a000000 + ((i + 256) << 8);
    return `route add ${v >>> 24}.${(v >> 16) & 255}.${(v >> 8) & 255}.0/24 via 10.0.0.2 dev r0`;
  });
  writeFileSync(join(work, 'routes.batch'), `${lines.join('\n')}\n`);
  return { addMs: timedSh('ip', ['-n', name, '-batch', join(work, 'routes.batch')]) };
}

function compare(label, runs, key, layerSingle, layerBatch, ipRun) {
  const results = { single: [], batch: [], ip: [] };
  for (let r = 0; r < runs; r++) {
    results.single.push(withNamespace((_, path) => layerSingle(path)));
    results.batch.push(withNamespace((_, path) => layerBatch(path)));
    results.ip.push(withNamespace((name) => ipRun(name)));
  }
  for (const [how, f] of [['median', medianOf], ['min', minOf]]) {
    const [single, batch, ip] = [results.single, results.batch, results.ip].map((rs) => f(rs, key));
    console.log(
      `${`${label} (${how} of ${runs})`.padEnd(44)} ${ms(single).padStart(10)} ${ms(batch).padStart(10)} ${ms(ip).padStart(10)}` +
        `   ip/layer ${(ip / single).toFixed(2)}x, ip/batched ${(ip / batch).toFixed(2)}x`,
    );
  }
}

try {
  await bundleLayer();
  const load = loadTime();
  console.log(`Load (bundled, addon embedded, clean env; ${LOAD_RUNS} fresh processes; budget 5 ms):`);
  for (const [label, l] of [['median', load.median], ['min', load.min]]) {
    console.log(`  ${label.padEnd(6)} require ${ms(l.require)} + first Netlink.open (addon, socket) ${ms(l.open)} = ${ms(l.load)}; then first request ${ms(l.firstRequest)}`);
  }

  const sw = withNamespace((_, path) => measure('switch', path, 5000));
  console.log('Namespace switch (mean per call over 5,000):');
  console.log(`  netlink socket: here ${us(sw.socketHereUs)}, in a namespace ${us(sw.socketInNamespaceUs)}; sysctl read: here ${us(sw.sysctlHereUs)}, in a namespace ${us(sw.sysctlInNamespaceUs)}`);
  console.log(`  switch cost ${us(sw.switchUs)} (budget 100 µs)`);

  console.log(`\n${'work (fresh namespace each)'.padEnd(44)} ${'lib/netlink'.padStart(10)} ${'batched'.padStart(10)} ${'ip -batch'.padStart(10)}`);
  compare(`${VETHS} veth pairs create + delete`, VETH_RUNS, 'totalMs',
    (path) => measure('veth', path, VETHS, 'single'),
    (path) => measure('veth', path, VETHS, 'batch'),
    vethIp);
  compare(`${ROUTES} routes`, RUNS, 'addMs',
    (path) => measure('routes', path, ROUTES, 'single'),
    (path) => measure('routes', path, ROUTES, 'batch'),
    routesIp);
} finally {
  for (const name of namespaces) spawnSync('ip', ['netns', 'delete', name]);
  rmSync(work, { recursive: true, force: true });
}
