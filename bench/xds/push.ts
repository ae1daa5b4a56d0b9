// xDS push latency and memory: weftd's xDS server holding 10,000 endpoints (100 services x 100, over 20
// nodes), 100 ADS clients connected on loopback (clients.ts, another process). Each round changes endpoints
// and times the push from the change to the arrival at every client, beside the time it takes only to
// encode the same responses (the resources and the 100 DiscoveryResponses carrying them).
//
// Scenarios: "one endpoint" adds an endpoint to one service (every client gets that service's load
// assignment); "node lost" removes a node's 500 endpoints (every client gets all 100 load assignments).
// Run through push.bench.mjs (it bundles this file); flags: --rounds N (one endpoint), --node-rounds N, --clients N,
// and the size: --services N --per-service N --nodes N (endpoint i of a service is on node i mod N; at
// 500 x 100 over 5,000 nodes a node holds 10 endpoints in 10 services, so losing it changes those 10).
// Figures are medians over the rounds, after the first round has warmed the code.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { XdsCodec } from '../../daemon/xds/codec.ts';
import type { DiscoveryResponse, PackedResource } from '../../daemon/xds/discovery-messages.ts';
import { EndpointSet } from '../../daemon/xds/endpoint-set.ts';
import type { Endpoint } from '../../lib/weftd-api/endpoint.ts';
import { ResourceCache } from '../../daemon/xds/resource-cache.ts';
import { TypeUrl } from '../../daemon/xds/resource-types.ts';
import { createXdsServer } from '../../daemon/xds/server.ts';
import { buildSnapshot } from '../../daemon/xds/snapshot.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' }, 'node-rounds': { type: 'string', default: '5' }, clients: { type: 'string', default: '100' },
    services: { type: 'string', default: '100' }, 'per-service': { type: 'string', default: '100' }, nodes: { type: 'string', default: '20' },
  },
});
const rounds = Number(values.rounds);
const nodeRounds = Number(values['node-rounds']);
const clientCount = Number(values.clients);
const serviceCount = Number(values.services);
const perService = Number(values['per-service']);
const nodeCount = Number(values.nodes);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (push.bench.mjs does)');
/** V8 heap plus buffers (encoded resources live in buffers outside the heap), after a full GC. */
function heapMiB(): number {
  gc!();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return (heapUsed + arrayBuffers) / 2 ** 20;
}

const services = Array.from({ length: serviceCount }, (_, s) => `svc-${s}`);
function serviceEndpoint(s: number, i: number, node = i % nodeCount): Endpoint {
  const n = s * perService + i;
  return endpoint(services[s]!, `${n.toString(16).padStart(12, '0')}${'0'.repeat(52)}`, `node-${node}`,
    `10.${Math.floor(n / 250) % 256}.${n % 250}.${10 + (n % 7)}`, 50051, { labels: { app: services[s]!, pod: `${services[s]}-${i}` } });
}

const quiet = { info: () => {}, warn: (m: string, f?: unknown) => console.error(m, f) };
const codec = new XdsCodec();
// Warm the codec so its generated encoders are not counted as endpoint memory.
new ResourceCache(codec).set(buildSnapshot([serviceEndpoint(0, 0)]).snapshot);

const heapStart = heapMiB();
const endpoints = new EndpointSet(services.flatMap((_, s) => Array.from({ length: perService }, (_, i) => serviceEndpoint(s, i))));
const heapEndpoints = heapMiB();

const rebuilds: number[] = [];
for (let run = 0; run < 5; run++) {
  const start = process.hrtime.bigint();
  new ResourceCache(codec).set(buildSnapshot(endpoints.endpoints()).snapshot);
  rebuilds.push(Number(process.hrtime.bigint() - start) / 1e6);
}

const server = createXdsServer({ address: '127.0.0.1:0', endpointSource: endpoints, logger: quiet, coalesceMs: 0 });
const address = await server.start();
const heapServing = heapMiB();
let cacheBytes = 0;
for (const typeUrl of Object.values(TypeUrl)) for (const name of server.cache.names(typeUrl)) cacheBytes += server.cache.get(typeUrl, name)!.packed.value.length;

const clients = fork(fileURLToPath(new URL('./clients.mjs', import.meta.url)), [address, String(clientCount), services.join(',')], {
  execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const arrivals = new Map<string, bigint[]>();
let waiting: { version: string; resolve: (times: bigint[]) => void } | undefined;
clients.on('message', (message: { version: string; times: string[] }) => {
  const times = message.times.map(BigInt);
  arrivals.set(message.version, times);
  if (waiting?.version === message.version) waiting.resolve(times);
});
function allReceived(version: string): Promise<bigint[]> {
  const done = arrivals.get(version);
  if (done) return Promise.resolve(done);
  return new Promise((resolve) => {
    waiting = { version, resolve };
  });
}
await allReceived(server.cache.version(TypeUrl.ClusterLoadAssignment));
// Wait for the initial responses' write buffers to go, so this is what the streams themselves hold.
let heapClients = heapMiB();
for (let settled = false, tries = 0; !settled && tries < 20; tries++) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const now = heapMiB();
  settled = Math.abs(now - heapClients) < 0.5;
  heapClients = now;
}

/**
 * Encoding alone, plainly: the changed load assignments from objects, then one whole DiscoveryResponse per
 * client (the server shares the resources' encoding between responses; this baseline does not).
 */
const responseType = codec.root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
function encodeOnlyMs(changed: readonly string[]): number {
  const built = buildSnapshot([...endpoints.endpoints()].filter((e) => changed.includes(e.service!))).snapshot[TypeUrl.ClusterLoadAssignment];
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    const start = process.hrtime.bigint();
    const resources: PackedResource[] = changed.map((name) => ({
      type_url: TypeUrl.ClusterLoadAssignment,
      value: codec.encodeResource(TypeUrl.ClusterLoadAssignment, built.get(name) ?? { cluster_name: name }),
    }));
    for (let c = 0; c < clientCount; c++) {
      const response: DiscoveryResponse = { version_info: 'v', resources, type_url: TypeUrl.ClusterLoadAssignment, nonce: `n-${c}`, control_plane: { identifier: 'weftd' } };
      responseType.encode(responseType.fromObject(response)).finish();
    }
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Round {
  p50: number;
  max: number;
}

async function round(change: () => void): Promise<Round> {
  const before = server.cache.version(TypeUrl.ClusterLoadAssignment);
  const start = process.hrtime.bigint();
  change();
  // The publisher rebuilds on a timer; wait for the new version, then for every client to have it.
  while (server.cache.version(TypeUrl.ClusterLoadAssignment) === before) await new Promise((r) => setImmediate(r));
  const times = await allReceived(server.cache.version(TypeUrl.ClusterLoadAssignment));
  const latencies = times.map((t) => Number(t - start) / 1e6);
  return { p50: median(latencies), max: Math.max(...latencies) };
}

// The baseline is measured after the rounds: its garbage would otherwise be collected during them.
function summary(name: string, results: Round[], changed: readonly string[]): string {
  const p50 = median(results.map((r) => r.p50));
  const max = median(results.map((r) => r.max));
  const encode = encodeOnlyMs(changed);
  return `| ${name} | ${p50.toFixed(1)} | ${max.toFixed(1)} | ${encode.toFixed(1)} | ${(max / encode).toFixed(1)}x |`;
}

const oneEndpoint: Round[] = [];
for (let r = 0; r <= rounds; r++) {
  const s = r % serviceCount;
  oneEndpoint.push(await round(() => endpoints.set(serviceEndpoint(s, perService + r))));
}
oneEndpoint.shift();
const nodeLost: Round[] = [];
let lostServices: string[] = [];
let lostCount = 0;
for (let r = 0; r < nodeRounds; r++) {
  const node = r % nodeCount;
  const lost = [...endpoints.endpoints()].filter((e) => e.node === `node-${node}`);
  lostServices = [...new Set(lost.flatMap((e) => (e.service === undefined ? [] : [e.service])))];
  lostCount = lost.length;
  nodeLost.push(await round(() => endpoints.replaceAll([...endpoints.endpoints()].filter((e) => e.node !== `node-${node}`))));
  endpoints.replaceAll([...endpoints.endpoints(), ...lost]);
  await allReceived(server.cache.version(TypeUrl.ClusterLoadAssignment));
}

console.log(`xDS push: ${endpoints.size.toLocaleString('en')} endpoints, ${serviceCount} services, ${nodeCount} nodes, ` +
  `${clientCount} ADS clients on loopback (another process), coalescing off (weftd waits 10 ms by default)`);
console.log('');
console.log('| change | p50 to a client (ms) | last client (ms) | encode alone (ms) | last / encode |');
console.log('| --- | ---: | ---: | ---: | ---: |');
console.log(summary(`one endpoint (1 load assignment to each of ${clientCount})`, oneEndpoint, [services[0]!]));
console.log(summary(`node lost (${lostCount} endpoints; ${lostServices.length} load assignments to each)`, nodeLost, lostServices));
console.log('');
console.log(`Rebuild of every resource from ${endpoints.size.toLocaleString('en')} endpoints (build + encode; a change rebuilds only the services it touches): ${median(rebuilds).toFixed(1)} ms`);
console.log(`Memory (heap + buffers after GC): endpoints ${(heapEndpoints - heapStart).toFixed(1)} MiB, ` +
  `server with all resources encoded ${(heapServing - heapEndpoints).toFixed(1)} MiB (${(cacheBytes / 2 ** 20).toFixed(1)} MiB of it encoded bytes), ` +
  `${clientCount} streams ${(heapClients - heapServing).toFixed(1)} MiB; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);

clients.kill();
await server.stop();
