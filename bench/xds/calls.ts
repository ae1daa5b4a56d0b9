// From an endpoint change to where a real gRPC client's calls go: weftd's xDS server (default coalescing
// window) serves `xds:///echo` to @grpc/grpc-js-xds in another process, which calls one call at a time
// (daemon/xds/testing/xds-client.ts). Each round adds a third backend, then removes it, and times:
//   delivered  the change reaching a bare ADS client subscribed to the same load assignment (this process);
//   first call  the first call the added backend answers;
//   last call   the last call the removed backend answers (20 calls in a row elsewhere end the wait).
// The delivery is the reference: the ratio is what the gRPC client adds (balancer update, connecting).
// Run through calls.bench.mjs (it bundles this file); flag: --rounds N.
import { parseArgs } from 'node:util';
import { EndpointSet } from '../../daemon/xds/endpoint-set.ts';
import { TypeUrl } from '../../daemon/xds/resource-types.ts';
import { createXdsServer } from '../../daemon/xds/server.ts';
import { AdsClient } from '../../daemon/xds/testing/ads-client.ts';
import { startBackend, type Backend } from '../../daemon/xds/testing/backends.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import { endpointCount } from '../../daemon/xds/testing/session-context.ts';
import { XdsClientProcess } from '../../daemon/xds/testing/xds-client.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' } } });
const rounds = Number(values.rounds);
const quietRun = 20;

const now = () => Number(process.hrtime.bigint()) / 1e6;
const asEndpoint = (b: Backend, node: string) => endpoint('echo', `container-${b.name}`, node, '127.0.0.1', b.port);

const backends = await Promise.all(['b1', 'b2', 'b3'].map(startBackend));
const [b1, b2, b3] = backends as [Backend, Backend, Backend];
const endpoints = new EndpointSet([asEndpoint(b1, 'node-a'), asEndpoint(b2, 'node-a')]);
const server = createXdsServer({ address: '127.0.0.1:0', endpointSource: endpoints, logger: { info: () => {}, warn: (m: string) => console.error(m) } });
const address = await server.start();

// The reference: delivery of the same change to a bare ADS client, ACKing each response as a client does.
const ads = new AdsClient(address);
const deliveries: Array<{ at: number; count: number }> = [];
const stream = ads.sotw((response) => {
  deliveries.push({ at: now(), count: endpointCount(response.resources[0]!) });
  stream.send({ type_url: response.type_url, resource_names: ['echo'], version_info: response.version_info, response_nonce: response.nonce });
});
stream.send({ node: { id: 'bench-ads', cluster: 'bench', user_agent_name: 'weft-bench' }, type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['echo'], version_info: '', response_nonce: '' });

const client = await XdsClientProcess.start(address, 'echo', 'bench-grpc');
await client.callsUntil((batch) => batch.includes('b1') && batch.includes('b2'));

async function delivered(since: number, count: number): Promise<number> {
  for (;;) {
    const hit = deliveries.find((d) => d.at >= since && d.count === count);
    if (hit) return hit.at - since;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

interface Round {
  readonly delivered: number;
  readonly call: number;
}
const added: Round[] = [];
const removed: Round[] = [];
for (let round = 0; round <= rounds; round++) {
  let start = now();
  endpoints.set(asEndpoint(b3, 'node-b'));
  while ((await client.calls(1))[0] !== 'b3');
  const firstCall = now() - start;
  const addDelivered = await delivered(start, 3);

  start = now();
  endpoints.delete(`container-${b3.name}`);
  let lastCall = 0;
  for (let elsewhere = 0; elsewhere < quietRun;) {
    const [who] = await client.calls(1);
    if (who === 'b3') {
      lastCall = now() - start;
      elsewhere = 0;
    } else if (who!.startsWith('error')) {
      throw new Error(`a call failed: ${who}`);
    } else {
      elsewhere++;
    }
  }
  const removeDelivered = await delivered(start, 2);
  // Round 0 warms the client's balancer and connections: not counted.
  if (round === 0) continue;
  added.push({ delivered: addDelivered, call: firstCall });
  removed.push({ delivered: removeDelivered, call: lastCall });
}

await client.stop();
ads.close();
await server.stop();
await Promise.all(backends.map((b) => b.stop()));

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const ms = (x: number) => x.toFixed(1).padStart(7);
console.log(`xDS to a gRPC client's calls, ${rounds} rounds (ms from the change)`);
console.log('change              delivered p50  call p50  call p95  call max  call / delivered (p50)');
for (const [name, rows] of [['endpoint added', added], ['endpoint removed', removed]] as const) {
  const d = quantile(rows.map((r) => r.delivered), 0.5);
  const calls = rows.map((r) => r.call);
  const c = quantile(calls, 0.5);
  console.log(`${name.padEnd(18)}  ${ms(d)}       ${ms(c)}   ${ms(quantile(calls, 0.95))}   ${ms(Math.max(...calls))}   ${(c / d).toFixed(2)}x`);
}
