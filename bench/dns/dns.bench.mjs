#!/usr/bin/env node
// weftd's DNS server beside dnsmasq (Debian's), both asked by dnsperf (Debian's) in the same run, inside
// one namespace made for the run (addresses on its loopback; nothing else on the machine is touched):
//   in the zone:   10,000 names svc-<i>.weft.internal — weftd from 10,000 endpoints (server.ts, the
//                  daemon's DNS parts), dnsmasq from a hosts file of the same names;
//   forwarded:     10,000 names ext-<i>.example.test served from cache — weftd forwarding to an upstream
//                  dnsmasq, against a second dnsmasq forwarding to the same upstream; both caches are warmed
//                  by one pass first.
// Throughput: dnsperf at up to 100 queries outstanding for `--seconds`, median of `--rounds` rounds taken
// in turn. Latency: a second, paced run (-Q 2000, which both sustain) with dnsperf's per-query report, p50
// and p99. Memory: heap taken by the 10,000 endpoints and by the zone built from them, after a full GC.
//
//   node bench/dns/dns.bench.mjs [--rounds 3] [--seconds 5]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundle, cleanEnv, median, namespaceName, requireRoot, sh } from '../common.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const seconds = values.seconds;
const names = 10_000;
const weftd = '10.244.1.1';
const client = '10.244.1.2';
const upstream = '10.244.1.3';
const dnsmasqForwarder = '10.244.1.4';

requireRoot('dns');
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '../../build/bench-dns');
await bundle({ entryPoints: { server: join(here, 'server.ts') }, outdir: out });

const ns = namespaceName('wtbd');
const scratch = mkdtempSync(join(tmpdir(), 'weft-bench-dns-'));
const children = [];

/** A program inside the namespace; resolves with it once `ready` says its output shows it is up. */
function start(argv, ready = () => true) {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const look = (chunk) => {
      output += chunk.toString();
      if (ready(output)) resolve({ child, output });
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited (${code}): ${output}`)));
  });
}

const inNs = (file, args) => sh('ip', ['netns', 'exec', ns, file, ...args]);

function dnsperf(server, file, extra) {
  return inNs('dnsperf', ['-s', server, '-a', client, '-d', file, ...extra]);
}

function throughput(server, file) {
  const text = dnsperf(server, file, ['-l', seconds, '-q', '100']);
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(text)?.[1]);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(text)?.[1]);
  if (!(qps > 0)) throw new Error(`dnsperf against ${server}: ${text}`);
  return { qps, lost };
}

/** p50 and p99 in ms from dnsperf's per-query report at a pace both servers sustain. */
function latency(server, file) {
  const text = dnsperf(server, file, ['-l', '3', '-Q', '2000', '-v']);
  const ms = text.split('\n').map((l) => /^> \S+ .* ([\d.]+)$/.exec(l)?.[1]).filter(Boolean).map((s) => Number(s) * 1000).sort((a, b) => a - b);
  if (ms.length === 0) throw new Error(`no latencies from dnsperf -v against ${server}: ${text.slice(0, 500)}`);
  return { p50: ms[Math.floor(ms.length * 0.5)], p99: ms[Math.floor(ms.length * 0.99)] };
}

try {
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  for (const address of [weftd, client, upstream, dnsmasqForwarder]) sh('ip', ['-n', ns, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
  const address = (i) => `10.244.${2 + Math.floor(i / 250)}.${2 + (i % 250)}`;
  const indexes = Array.from({ length: names }, (_, i) => i);
  writeFileSync(join(scratch, 'hosts'), indexes.map((i) => `${address(i)} svc-${i}.weft.internal\n198.51.${Math.floor(i / 250)}.${i % 250} ext-${i}.example.test\n`).join(''));
  const zoneNames = join(scratch, 'zone.txt');
  const extNames = join(scratch, 'ext.txt');
  writeFileSync(zoneNames, indexes.map((i) => `svc-${i}.weft.internal A\n`).join(''));
  writeFileSync(extNames, indexes.map((i) => `ext-${i}.example.test A\n`).join(''));

  const dnsmasq = (listen, ...options) => start(['/usr/sbin/dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
    `--listen-address=${listen}`, '--bind-interfaces', '--user=root', '--pid-file=', '--log-facility=-', ...options], (o) => o.includes('started'));
  await dnsmasq(upstream, `--addn-hosts=${join(scratch, 'hosts')}`, '--local-ttl=3600');
  await dnsmasq(dnsmasqForwarder, `--server=${upstream}`, '--cache-size=20000');
  const server = await start([process.execPath, '--expose-gc', join(out, 'server.mjs'), '--address', weftd, '--upstream', upstream, '--endpoints', String(names)],
    (o) => o.includes('rssMiB'));
  const memory = JSON.parse(server.output.split('\n').find((l) => l.includes('rssMiB')));

  // One pass fills both caches with the 10,000 forwarded names.
  dnsperf(weftd, extNames, ['-n', '1']);
  dnsperf(dnsmasqForwarder, extNames, ['-n', '1']);

  const runs = { zone: { weftd: [], dnsmasq: [] }, forwarded: { weftd: [], dnsmasq: [] } };
  for (let r = 0; r < rounds; r++) {
    runs.zone.weftd.push(throughput(weftd, zoneNames));
    runs.zone.dnsmasq.push(throughput(upstream, zoneNames));
    runs.forwarded.weftd.push(throughput(weftd, extNames));
    runs.forwarded.dnsmasq.push(throughput(dnsmasqForwarder, extNames));
  }
  const latencies = {
    zone: { weftd: latency(weftd, zoneNames), dnsmasq: latency(upstream, zoneNames) },
    forwarded: { weftd: latency(weftd, extNames), dnsmasq: latency(dnsmasqForwarder, extNames) },
  };

  const f = (x, d = 0) => x.toFixed(d);
  console.log(`DNS: ${names} names, dnsperf ${seconds} s x ${rounds} rounds each (median), 100 outstanding; latency at 2,000 q/s`);
  console.log('                       weftd q/s   dnsmasq q/s   ratio   weftd p50/p99 ms   dnsmasq p50/p99 ms   lost');
  for (const [what, label] of [['zone', 'in the zone'], ['forwarded', 'forwarded, cached']]) {
    const w = median(runs[what].weftd.map((x) => x.qps));
    const d = median(runs[what].dnsmasq.map((x) => x.qps));
    const lw = latencies[what].weftd;
    const ld = latencies[what].dnsmasq;
    const lost = [...runs[what].weftd, ...runs[what].dnsmasq].reduce((s, x) => s + x.lost, 0);
    console.log(`${label.padEnd(20)} ${f(w).padStart(10)} ${f(d).padStart(13)} ${f(w / d, 2).padStart(7)}   ${`${f(lw.p50, 3)}/${f(lw.p99, 3)}`.padStart(16)}   ${`${f(ld.p50, 3)}/${f(ld.p99, 3)}`.padStart(18)}   ${lost}`);
  }
  console.log(`weftd's DNS with ${names} endpoints: endpoints ${f(memory.endpointsMiB, 1)} MiB, zone ${f(memory.zoneMiB, 1)} MiB of heap (zone built in ${f(memory.buildMs, 1)} ms, rebuilt after one change in ${f(memory.rebuildMs, 1)} ms); process RSS ${f(memory.rssMiB)} MiB`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  try {
    sh('ip', ['netns', 'delete', ns]);
  } catch {
    // Never made.
  }
  rmSync(scratch, { recursive: true, force: true });
}
