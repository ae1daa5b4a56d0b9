import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../lease/testing/memory-store.ts';
import type { Lease } from '../lease/lease.ts';
import type { EndpointStore } from '../lease/store.ts';
import { Logger } from '../log.ts';
import { endpointToJson, type Endpoint } from '../../lib/weftd-api/endpoint.ts';
import { EndpointSet } from './endpoint-set.ts';
import { endpointWrites, servedEndpoints, SharedEndpoints } from './shared-endpoints.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import { downAfterRounds, NodeHealth } from '../health/node-health.ts';

/** A store in which node `nodes[i]` holds lease 10.244.<i+1>.0/24, and those leases by node. */
function storeWithLeases(...nodes: string[]): { store: MemoryStore; lease: Record<string, Lease> } {
  const store = new MemoryStore();
  const lease: Record<string, Lease> = {};
  nodes.forEach((nodeName, i) => {
    lease[nodeName] = store.put({ nodeName, subnet: `10.244.${i + 1}.0/24`, publicIp: `192.0.2.${i + 1}`, vtepMac: '02:00:00:00:00:01' }, 60);
  });
  store.calls.length = 0;
  return { store, lease };
}

/** A health view in which `nodes` hold leases and nothing was probed. */
function leased(...nodes: string[]): NodeHealth {
  const health = new NodeHealth(nodes[0]!);
  health.leasesChanged(nodes);
  return health;
}

const quiet = new Logger('error', () => undefined);

async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const ids = (source: { endpoints(): Iterable<Endpoint> }) => [...source.endpoints()].map((e) => `${e.node}/${e.containerId}`).sort();

describe('servedEndpoints', () => {
  it('serves every local endpoint, the stored ones of other leased nodes, those of a node found down as unhealthy', () => {
    const local = [endpoint('echo', 'a1', 'na', '10.244.1.2')];
    const stored = [
      endpoint('echo', 'a0', 'na', '10.244.1.9'), // this node's stored copy, possibly stale: the local set rules
      endpoint('echo', 'b1', 'nb', '10.244.2.2'),
      endpoint('echo', 'c1', 'nc', '10.244.3.2'), // nc holds no lease
    ];
    const health = new NodeHealth('na');
    health.leasesChanged(['na', 'nb']);
    const served = () => servedEndpoints(local, stored, 'na', health).map((e) => `${e.containerId} ${e.health}`);
    expect(served()).toEqual(['a1 healthy', 'b1 healthy']);
    for (let round = 0; round < downAfterRounds; round++) health.probed([{ nodeName: 'nb', verdict: 'underlay' }]);
    expect(served()).toEqual(['a1 healthy', 'b1 unhealthy']);
    health.leasesChanged(['na']);
    expect(served()).toEqual(['a1 healthy']);
  });
});

describe('endpointWrites', () => {
  it('puts what is new or changed and deletes what went', () => {
    const kept = endpoint('echo', 'k', 'na', '10.244.1.2');
    const changed = endpoint('echo', 'c', 'na', '10.244.1.3');
    const written = new Map([['k', JSON.stringify(endpointToJson(kept))], ['c', 'an older version'], ['gone', 'x']]);
    const { puts, deletes } = endpointWrites(written, [kept, changed, endpoint('echo', 'n', 'na', '10.244.1.4')]);
    expect(puts.map((e) => e.containerId)).toEqual(['c', 'n']);
    expect(deletes).toEqual(['gone']);
  });
});

describe('SharedEndpoints', () => {
  let shared: SharedEndpoints | undefined;
  afterEach(async () => {
    await shared?.stop();
    shared = undefined;
  });

  it('replaces the node\'s stored set at start, then writes each change through', async () => {
    const { store, lease } = storeWithLeases('na');
    await store.endpoints.putEndpoint(lease.na!, endpoint('echo', 'stale', 'na', '10.244.1.9'));
    store.calls.length = 0;
    const local = new EndpointSet([endpoint('echo', 'a1', 'na', '10.244.1.2')]);
    shared = new SharedEndpoints('na', local);
    expect(ids(shared)).toEqual(['na/a1']);
    void shared.start({ store: store.endpoints, owner: () => lease.na, health: leased('na'), log: quiet });
    await until('the replace', () => store.calls.length === 1);
    expect(store.calls).toEqual(['replaceEndpoints na a1']);
    expect(Object.keys(store.table.endpoints!.na!)).toEqual(['a1']);

    local.set(endpoint('echo', 'a2', 'na', '10.244.1.3'));
    await until('the put', () => store.calls.length === 2);
    local.delete('a1');
    await until('the delete', () => store.calls.length === 3);
    expect(store.calls.slice(1)).toEqual(['putEndpoint na/a2', 'deleteEndpoint na/a1']);
    expect(ids(shared)).toEqual(['na/a2']);
  });

  it('serves other nodes\' endpoints only while their node holds a lease', async () => {
    const { store, lease } = storeWithLeases('na', 'nb', 'nc');
    const health = leased('na', 'nb');
    shared = new SharedEndpoints('na', new EndpointSet([endpoint('echo', 'a1', 'na', '10.244.1.2')]));
    health.onChange(shared.changed);
    void shared.start({ store: store.endpoints, owner: () => lease.na, health, log: quiet });
    await until('the replace', () => store.calls.length === 1);
    let changes = 0;
    shared.onChange(() => changes++);
    // Other nodes write theirs: each write reaches the watch.
    await store.endpoints.putEndpoint(lease.nb!, endpoint('echo', 'b1', 'nb', '10.244.2.2'));
    await store.endpoints.putEndpoint(lease.nc!, endpoint('echo', 'c1', 'nc', '10.244.3.2'));
    expect(changes).toBe(2);
    expect(ids(shared)).toEqual(['na/a1', 'nb/b1']);
    // nb's lease expires: the lease set changes, and its endpoints are no longer served.
    health.leasesChanged(['na']);
    expect(changes).toBe(3);
    expect(ids(shared)).toEqual(['na/a1']);
    health.leasesChanged(['na', 'nc']);
    expect(ids(shared)).toEqual(['na/a1', 'nc/c1']);
  });

  it('starts once the store\'s first complete view is in, serving only local endpoints until then', async () => {
    const { store, lease } = storeWithLeases('na', 'nb');
    await store.endpoints.putEndpoint(lease.nb!, endpoint('echo', 'b1', 'nb', '10.244.2.2'));
    // The store's listing is slow: the watch delivers when the test says.
    let deliver: (() => void) | undefined;
    const slow: EndpointStore = {
      ...store.endpoints,
      watchEndpoints: (handlers) => {
        deliver = () => void store.endpoints.watchEndpoints(handlers);
        return { close: async () => undefined };
      },
    };
    shared = new SharedEndpoints('na', new EndpointSet([endpoint('echo', 'a1', 'na', '10.244.1.2')]));
    let started = false;
    const starting = shared.start({ store: slow, owner: () => lease.na, health: leased('na', 'nb'), log: quiet }).then(() => {
      started = true;
    });
    await until('this node\'s write', () => store.calls.length === 2);
    expect(started).toBe(false);
    expect(ids(shared)).toEqual(['na/a1']);
    deliver!();
    await starting;
    expect(ids(shared)).toEqual(['na/a1', 'nb/b1']);
  });

  it('retries a failed write as a full replace, since what reached the store is unknown', async () => {
    const { store, lease } = storeWithLeases('na');
    const local = new EndpointSet();
    shared = new SharedEndpoints('na', local);
    void shared.start({ store: store.endpoints, owner: () => lease.na, health: leased('na'), log: quiet, retry: { initialMs: 10, maxMs: 20 } });
    await until('the replace', () => store.calls.length === 1);
    store.failNext('putEndpoint');
    store.failNext('replaceEndpoints');
    local.set(endpoint('echo', 'a1', 'na', '10.244.1.2'));
    await until('the retries', () => store.calls.length === 4);
    expect(store.calls).toEqual(['replaceEndpoints na ', 'putEndpoint na/a1', 'replaceEndpoints na a1', 'replaceEndpoints na a1']);
    expect(Object.keys(store.table.endpoints!.na!)).toEqual(['a1']);
  });
});
