// The server over real gRPC on loopback, driven by a bare ADS client that writes requests by hand.
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSet } from './endpoint-set.ts';
import { TypeUrl } from './resource-types.ts';
import { createXdsServer, type XdsServerHandle } from './server.ts';
import { AdsClient } from './testing/ads-client.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import { endpointCount, resourceName } from './testing/session-context.ts';
import type { NackReport } from './session.ts';

const logs: string[] = [];
const logger = {
  info: (message: string) => logs.push(message),
  warn: (message: string) => logs.push(message),
};

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(endpoints: EndpointSet, onNack?: (r: NackReport) => void): Promise<{ server: XdsServerHandle; client: AdsClient }> {
  const server = createXdsServer({ address: '127.0.0.1:0', endpointSource: endpoints, logger, ...(onNack ? { onNack } : {}) });
  const address = await server.start();
  cleanups.push(() => server.stop());
  expect(address).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
  const client = new AdsClient(address);
  cleanups.push(() => client.close());
  return { server, client };
}

const node = { id: 'test-client', cluster: 'tests', user_agent_name: 'weft-tests' };

describe('XdsServer over gRPC', () => {
  it('serves state-of-the-world ADS and pushes an endpoint change', async () => {
    const endpoints = new EndpointSet([endpoint('echo', 'c1', 'n1', '10.0.0.1')]);
    const { server, client } = await serve(endpoints);
    const stream = client.sotw();
    stream.send({ node, type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['echo'], version_info: '', response_nonce: '' });
    const first = await stream.next();
    expect(first.resources.map(resourceName)).toEqual(['echo']);
    expect(endpointCount(first.resources[0]!)).toBe(1);
    stream.send({ type_url: first.type_url, resource_names: ['echo'], version_info: first.version_info, response_nonce: first.nonce });

    endpoints.set(endpoint('echo', 'c2', 'n2', '10.0.1.1'));
    const update = await stream.next();
    expect(endpointCount(update.resources[0]!)).toBe(2);
    expect(update.nonce).not.toBe(first.nonce);

    expect(server.stats()).toMatchObject({ activeStreams: 1, streams: 1, acks: 1, responses: 2 });
    expect(server.clients()).toEqual([expect.objectContaining({
      node: 'test-client',
      types: [expect.objectContaining({ typeUrl: TypeUrl.ClusterLoadAssignment, names: ['echo'], ackedVersion: first.version_info })],
    })]);
    stream.end();
    expect((await stream.closed).code).toBe(status.OK);
  });

  it('serves incremental ADS: per-resource versions, updates, removals', async () => {
    const endpoints = new EndpointSet([endpoint('echo', 'c1', 'n1', '10.0.0.1'), endpoint('web', 'w1', 'n1', '10.0.0.2', 80)]);
    const { client } = await serve(endpoints);
    const stream = client.delta();
    stream.send({
      node, type_url: TypeUrl.Cluster, resource_names_subscribe: [], resource_names_unsubscribe: [],
      initial_resource_versions: {}, response_nonce: '',
    });
    const first = await stream.next();
    expect(first.resources.map((r) => r.name)).toEqual(['echo', 'web']);
    expect(first.resources.every((r) => r.version.length > 0)).toBe(true);
    stream.send({
      type_url: TypeUrl.Cluster, resource_names_subscribe: [], resource_names_unsubscribe: [],
      initial_resource_versions: {}, response_nonce: first.nonce,
    });
    endpoints.delete('w1');
    const removal = await stream.next();
    expect(removal.resources).toEqual([]);
    expect(removal.removed_resources).toEqual(['web']);
  });

  it('reports a NACK through onNack and the log, and counts it', async () => {
    const endpoints = new EndpointSet([endpoint('echo', 'c1', 'n1', '10.0.0.1')]);
    const nacks: NackReport[] = [];
    const { server, client } = await serve(endpoints, (r) => nacks.push(r));
    const stream = client.sotw();
    stream.send({ node, type_url: TypeUrl.Listener, resource_names: ['echo'], version_info: '', response_nonce: '' });
    const first = await stream.next();
    stream.send({
      type_url: TypeUrl.Listener, resource_names: ['echo'], version_info: '', response_nonce: first.nonce,
      error_detail: { code: status.INVALID_ARGUMENT, message: 'listener refused' },
    });
    expect(await stream.quietFor(200)).toBe(true);
    expect(nacks).toEqual([expect.objectContaining({ node: 'test-client', rejectedVersion: first.version_info, message: 'listener refused' })]);
    expect(server.stats().nacks).toBe(1);
    expect(logs).toContain('xds: client rejected a response; it keeps its previous version');
  });

  it('holds pushes back from a client that stops reading and sends it the latest state when it reads again', async () => {
    const endpoints = new EndpointSet([endpoint('echo', 'c0', 'n1', '10.0.0.1')]);
    const server = createXdsServer({ address: '127.0.0.1:0', endpointSource: endpoints, logger, coalesceMs: 0 });
    const client = new AdsClient(await server.start());
    cleanups.push(() => server.stop(), () => client.close());
    const stream = client.sotw();
    stream.send({ node, type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['echo'], version_info: '', response_nonce: '' });
    await stream.next();
    stream.pause();
    const changes = 300;
    for (let i = 1; i <= changes; i++) {
      endpoints.set(endpoint('echo', `c${i}`, `n${i % 7}`, `10.0.${1 + Math.floor(i / 250)}.${i % 250}`));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const sent = server.stats().responses;
    expect(sent).toBeLessThan(changes / 2);
    stream.resume();
    // Read until the latest state arrives (next() fails the test if it never does).
    let last = await stream.next();
    while (endpointCount(last.resources[0]!) < changes + 1) last = await stream.next();
    expect(endpointCount(last.resources[0]!)).toBe(changes + 1);
    expect(server.stats().responses).toBeLessThan(changes / 2);
  }, 20_000);

  it('ends its streams on stop, and a new server on the same port serves the current state', async () => {
    const endpoints = new EndpointSet([endpoint('echo', 'c1', 'n1', '10.0.0.1')]);
    const server = createXdsServer({ address: '127.0.0.1:0', endpointSource: endpoints, logger });
    const address = await server.start();
    const client = new AdsClient(address);
    cleanups.push(() => client.close());
    const stream = client.sotw();
    stream.send({ node, type_url: TypeUrl.Cluster, resource_names: [], version_info: '', response_nonce: '' });
    await stream.next();
    await server.stop();
    expect((await stream.closed).code).toBe(status.OK);

    endpoints.set(endpoint('web', 'w1', 'n1', '10.0.0.2', 80));
    const again = createXdsServer({ address, endpointSource: endpoints, logger });
    await again.start();
    cleanups.push(() => again.stop());
    const next = client.sotw();
    next.send({ node, type_url: TypeUrl.Cluster, resource_names: [], version_info: '', response_nonce: '' });
    expect((await next.next()).resources.map(resourceName)).toEqual(['echo', 'web']);
  });

  it('refuses to start on an address it cannot bind', async () => {
    const endpoints = new EndpointSet();
    const { server } = await serve(endpoints);
    const clash = createXdsServer({ address: server.address!, endpointSource: endpoints, logger });
    await expect(clash.start()).rejects.toThrow();
  });
});
