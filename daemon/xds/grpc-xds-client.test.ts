// weftd's xDS server against a real, independent xDS client: @grpc/grpc-js-xds in a child process resolves
// `xds:///echo` through it and makes real calls to gRPC backends on loopback (containers on the overlay
// take their place once the overlay plugin registers endpoints).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { XdsCodec } from './codec.ts';
import { EndpointSet } from './endpoint-set.ts';
import type { Endpoint } from '../../lib/weftd-api/endpoint.ts';
import type { ClusterLoadAssignment } from './envoy-resources.ts';
import { ResourceCache } from './resource-cache.ts';
import { TypeUrl } from './resource-types.ts';
import { createXdsServer, XdsServer } from './server.ts';
import type { NackReport } from './session.ts';
import { buildSnapshot } from './snapshot.ts';
import { startBackend, type Backend } from './testing/backends.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import { XdsClientProcess } from './testing/xds-client.ts';

const logger = { info: () => {}, warn: () => {} };
let backends: Backend[] = [];
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  backends = await Promise.all(['b1', 'b2', 'b3'].map(startBackend));
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.stop()));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The endpoint of backend `index` (0-based) as a container on `node`. */
function backend(index: number, node: string): Endpoint {
  const b = backends[index]!;
  return endpoint('echo', `container-${b.name}`, node, '127.0.0.1', b.port);
}

async function client(address: string, id: string): Promise<XdsClientProcess> {
  const c = await XdsClientProcess.start(address, 'echo', id);
  cleanups.push(() => c.stop());
  return c;
}

async function served(endpoints: EndpointSet, address = '127.0.0.1:0'): Promise<{ address: string; stop: () => Promise<void> }> {
  const server = createXdsServer({ address, endpointSource: endpoints, logger });
  const bound = await server.start();
  cleanups.push(() => server.stop());
  return { address: bound, stop: () => server.stop() };
}

function tally(results: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe('a gRPC xDS client resolving xds:///echo through weftd', () => {
  it('load-balances real calls over the endpoints of every locality', async () => {
    const endpoints = new EndpointSet([backend(0, 'node-a'), backend(1, 'node-a'), backend(2, 'node-b')]);
    const { address } = await served(endpoints);
    const c = await client(address, 'lb');
    const counts = tally(await c.calls(90));
    // Localities weigh 2 and 1 (their endpoint counts): each endpoint gets about a third.
    expect(Object.keys(counts).sort()).toEqual(['b1', 'b2', 'b3']);
    for (const name of ['b1', 'b2', 'b3']) expect(counts[name]).toBeGreaterThanOrEqual(15);
  }, 20_000);

  it('sends calls to an added endpoint and away from a removed one', async () => {
    const endpoints = new EndpointSet([backend(0, 'node-a'), backend(1, 'node-a')]);
    const { address } = await served(endpoints);
    const c = await client(address, 'churn');
    expect(Object.keys(tally(await c.calls(10))).sort()).toEqual(['b1', 'b2']);

    endpoints.set(backend(2, 'node-b'));
    const toAdded = await c.callsUntil((batch) => batch.includes('b3'));
    endpoints.delete(backend(0, 'node-a').containerId);
    const awayFromRemoved = await c.callsUntil((batch) => !batch.includes('b1'));
    // Every call is answered throughout, and the removed endpoint gets none once it is gone.
    expect([...toAdded, ...awayFromRemoved].filter((who) => who.startsWith('error'))).toEqual([]);
    const settled = tally(await c.calls(30));
    expect(Object.keys(settled).sort()).toEqual(['b2', 'b3']);
  }, 40_000);

  it('keeps serving the previous version when the client NACKs an invalid resource, and takes the next valid one', async () => {
    const cache = new ResourceCache(new XdsCodec());
    cache.set(buildSnapshot([backend(0, 'node-a'), backend(1, 'node-a')]).snapshot);
    const nacks: NackReport[] = [];
    const server = new XdsServer({ address: '127.0.0.1:0', cache, logger, onNack: (r) => nacks.push(r) });
    const address = await server.start();
    cleanups.push(() => server.stop());
    const c = await client(address, 'nack');
    expect(Object.keys(tally(await c.calls(10))).sort()).toEqual(['b1', 'b2']);
    const [eds] = server.clients()[0]!.types.filter((t) => t.typeUrl === TypeUrl.ClusterLoadAssignment);
    const goodVersion = eds!.ackedVersion;
    expect(goodVersion).toBe(cache.version(TypeUrl.ClusterLoadAssignment));

    // A load assignment sending everything to b3, but without a locality: gRPC refuses it.
    const invalid = {
      cluster_name: 'echo',
      endpoints: [{
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: backends[2]!.port } } } }],
        load_balancing_weight: { value: 1 },
      }],
    } as unknown as ClusterLoadAssignment;
    cache.set({ [TypeUrl.ClusterLoadAssignment]: new Map([['echo', invalid]]) });
    await until(() => nacks.length > 0, 2_000);
    expect(nacks[0]).toMatchObject({
      node: 'nack', typeUrl: TypeUrl.ClusterLoadAssignment, rejectedVersion: cache.version(TypeUrl.ClusterLoadAssignment),
    });
    expect(nacks[0]!.message).toContain('locality unset');
    expect(server.stats().nacks).toBe(nacks.length);
    const after = server.clients()[0]!.types.find((t) => t.typeUrl === TypeUrl.ClusterLoadAssignment)!;
    expect(after.ackedVersion).toBe(goodVersion);
    expect(Object.keys(tally(await c.calls(20))).sort()).toEqual(['b1', 'b2']);

    cache.set(buildSnapshot([backend(2, 'node-b')]).snapshot);
    await c.callsUntil((batch) => batch.every((who) => who === 'b3'));
  }, 40_000);

  it('keeps calling while its xDS server is gone, and gets the current state when it reconnects', async () => {
    const endpoints = new EndpointSet([backend(0, 'node-a')]);
    const first = await served(endpoints);
    const c = await client(first.address, 'reconnect');
    expect(await c.calls(5)).toEqual(Array(5).fill('b1'));

    await first.stop();
    endpoints.replaceAll([backend(2, 'node-b')]);
    // The data plane outlives its control plane: the last configuration keeps working.
    expect(await c.calls(5)).toEqual(Array(5).fill('b1'));

    await served(endpoints, first.address);
    const deadline = Date.now() + 15_000;
    let last = '';
    while (last !== 'b3' && Date.now() < deadline) [last] = await c.calls(1) as [string];
    expect(last).toBe('b3');
  }, 30_000);
});
