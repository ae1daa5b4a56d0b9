// weftd's DNS server for the benchmark: the daemon's own parts (ZoneSource over an EndpointSet, the
// responder, the forwarder with its cache, the listeners) wired as daemon/dns/attachment.ts wires them,
// holding `--endpoints` endpoints of as many services (svc-<i>.weft.internal), forwarding other names to
// `--upstream`. Prints one JSON line of memory figures once it answers; runs until its stdin closes.
// Run through dns.bench.mjs (it bundles this file and runs it inside the benchmark's namespace).
import { parseArgs } from 'node:util';
import { parseIp } from '../../lib/ip/address.ts';
import { netContains, parseCidr } from '../../lib/ip/cidr.ts';
import { AnswerCache } from '../../daemon/dns/answer-cache.ts';
import { DnsStats } from '../../daemon/dns/dns-stats.ts';
import { EncodedAnswers } from '../../daemon/dns/encoded-answers.ts';
import { Forwarder } from '../../daemon/dns/forwarder.ts';
import { DnsListeners } from '../../daemon/dns/listeners.ts';
import { respond } from '../../daemon/dns/responder.ts';
import { maxHoldMs, ZoneSource } from '../../daemon/dns/zone-source.ts';
import { NodeHealth } from '../../daemon/health/node-health.ts';
import { Logger } from '../../daemon/log.ts';
import { EndpointSet } from '../../daemon/xds/endpoint-set.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';

const { values } = parseArgs({ options: { address: { type: 'string' }, upstream: { type: 'string' }, endpoints: { type: 'string', default: '10000' } } });
const count = Number(values.endpoints);
const network = parseCidr('10.244.0.0/16');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (dns.bench.mjs does)');
const heapMiB = () => {
  gc!();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return (heapUsed + arrayBuffers) / 2 ** 20;
};

const stats = new DnsStats();
const cache = new AnswerCache();
const encoded = new EncodedAnswers();
const forwarder = new Forwarder({ upstreams: () => [{ address: values.upstream!, port: 53 }], cache, stats });
const heapStart = heapMiB();
const endpoints = new EndpointSet(Array.from({ length: count }, (_, i) => endpoint(`svc-${i}`, `${i.toString(16).padStart(12, '0')}${'0'.repeat(52)}`,
  `node-${i % 20}`, `10.244.${2 + Math.floor(i / 250)}.${2 + (i % 250)}`, 8080, { ports: [{ name: 'http', port: 8080, protocol: 'tcp' }] })));
const heapEndpoints = heapMiB();
// Every node of the endpoints holds a lease and has not been found down, as in a healthy cluster.
const health = new NodeHealth('node-0');
health.leasesChanged(Array.from({ length: 20 }, (_, n) => `node-${n}`));
const zones = new ZoneSource(endpoints, health, { domain: 'weft.internal', networks: [network] });
const started = process.hrtime.bigint();
zones.current();
const buildMs = Number(process.hrtime.bigint() - started) / 1e6;
const heapZone = heapMiB();
// A rebuild after one endpoint changed: what each registration or removal costs the next query (once the
// previous zone's hold is over).
endpoints.set(endpoint('svc-added', 'f'.repeat(64), 'node-0', '10.244.250.2'));
await new Promise((resolve) => setTimeout(resolve, maxHoldMs));
const restarted = process.hrtime.bigint();
zones.current();
const rebuildMs = Number(process.hrtime.bigint() - restarted) / 1e6;

const listeners = new DnsListeners({
  port: 53, stats, log: new Logger('warn'),
  allowed: (address) => netContains(network, parseIp(address)),
  respond: (message, transport) => respond(message, transport, { zone: () => zones.current(), forward: (q) => forwarder.resolve(q), stats, encoded }),
});
listeners.setAddresses([values.address!]);
await listeners.bindMissing();
if (listeners.unbound.length > 0) throw new Error(`cannot listen on ${values.address}:53`);
console.log(JSON.stringify({
  endpointsMiB: heapEndpoints - heapStart, zoneMiB: heapZone - heapEndpoints, buildMs, rebuildMs, rssMiB: process.memoryUsage().rss / 2 ** 20,
}));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => {
  // What the runs left behind: answers and cache as the daemon's metrics would show them.
  console.error(JSON.stringify({ answers: Object.fromEntries(stats.answers), forwarded: stats.forwarded, cacheHits: stats.cacheHits }));
  process.exit(0);
});
