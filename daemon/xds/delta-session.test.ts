import { beforeEach, describe, expect, it } from 'vitest';
import { DeltaSession } from './delta-session.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from './discovery-messages.ts';
import { TypeUrl } from './resource-types.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import { endpointCount, resourceName, testContext, type TestContext } from './testing/session-context.ts';

const a1 = endpoint('a', 'a1', 'n1', '10.0.0.1');
const b1 = endpoint('b', 'b1', 'n1', '10.0.0.2');
const c1 = endpoint('c', 'c1', 'n1', '10.0.0.3');

let t: TestContext;
let sent: DeltaDiscoveryResponse[];
let session: DeltaSession;

beforeEach(() => {
  t = testContext();
  t.publish([a1, b1]);
  sent = [];
  session = newSession();
});

function newSession(): DeltaSession {
  const s = new DeltaSession(t.context, (r) => sent.push(r));
  t.cache.onChange((changes) => s.resourcesChanged(changes));
  return s;
}

function request(typeUrl: string, subscribe: string[] = [], unsubscribe: string[] = [],
  extra: Partial<DeltaDiscoveryRequest> = {}): DeltaDiscoveryRequest {
  return {
    type_url: typeUrl, resource_names_subscribe: subscribe, resource_names_unsubscribe: unsubscribe,
    initial_resource_versions: {}, response_nonce: '', ...extra,
  };
}

function ask(req: DeltaDiscoveryRequest, on: DeltaSession = session): DeltaDiscoveryResponse[] {
  const before = sent.length;
  on.handle(req);
  return sent.slice(before);
}

function ackOf(response: DeltaDiscoveryResponse): DeltaDiscoveryRequest {
  return request(response.type_url, [], [], { response_nonce: response.nonce });
}

/** What a response says: the names sent (checked against the names inside) and the names removed. */
function delta(response: DeltaDiscoveryResponse): { sent: string[]; removed: string[] } {
  for (const r of response.resources) expect(resourceName(r.resource)).toBe(r.name);
  return { sent: response.resources.map((r) => r.name), removed: [...response.removed_resources] };
}

describe('DeltaSession', () => {
  it('sends every cluster with its version to a legacy wildcard, then only what changes', () => {
    const [first] = ask(request(TypeUrl.Cluster));
    expect(delta(first!)).toEqual({ sent: ['a', 'b'], removed: [] });
    expect(first!.resources.map((r) => r.version)).toEqual(['a', 'b'].map((n) => t.cache.get(TypeUrl.Cluster, n)!.version));
    expect(first!.system_version_info).toBe(t.cache.version(TypeUrl.Cluster));
    expect(ask(ackOf(first!))).toEqual([]);
    t.publish([a1, b1, c1]);
    expect(delta(sent.at(-1)!)).toEqual({ sent: ['c'], removed: [] });
    t.publish([b1, c1]);
    expect(delta(sent.at(-1)!)).toEqual({ sent: [], removed: ['a'] });
    expect(sent).toHaveLength(3);
  });

  it('tells a client once that a resource it named does not exist, and sends it when it appears', () => {
    const [first] = ask(request(TypeUrl.RouteConfiguration, ['c']));
    expect(delta(first!)).toEqual({ sent: [], removed: ['c'] });
    expect(ask(request(TypeUrl.RouteConfiguration, [], [], { response_nonce: first!.nonce }))).toEqual([]);
    t.publish([a1]);
    expect(sent).toHaveLength(1);
    t.publish([a1, c1]);
    expect(delta(sent.at(-1)!)).toEqual({ sent: ['c'], removed: [] });
  });

  it('lists a load assignment of a service that does not exist, or no longer does, in removed_resources', () => {
    const [first] = ask(request(TypeUrl.ClusterLoadAssignment, ['ghost']));
    expect(delta(first!)).toEqual({ sent: [], removed: ['ghost'] });
    const ghost = endpoint('ghost', 'g1', 'n1', '10.0.0.9');
    t.publish([a1, b1, ghost]);
    expect(delta(sent.at(-1)!)).toEqual({ sent: ['ghost'], removed: [] });
    expect(endpointCount(sent.at(-1)!.resources[0]!.resource)).toBe(1);
    // Its last endpoint goes: removed, as CDS removes the cluster, not an empty assignment kept for ever.
    t.publish([a1, b1]);
    expect(delta(sent.at(-1)!)).toEqual({ sent: [], removed: ['ghost'] });
  });

  it('sends a reconnecting client only what differs from its initial_resource_versions', () => {
    const held = {
      a: t.cache.get(TypeUrl.Cluster, 'a')!.version,
      b: 'stale-version',
      gone: 'some-version',
    };
    const [first] = ask(request(TypeUrl.Cluster, ['*'], [], { initial_resource_versions: held }));
    expect(delta(first!)).toEqual({ sent: ['b'], removed: ['gone'] });
  });

  it('subscribes and unsubscribes by name, and resends a name subscribed again', () => {
    const [first] = ask(request(TypeUrl.ClusterLoadAssignment, ['a']));
    expect(delta(first!)).toEqual({ sent: ['a'], removed: [] });
    expect(delta(ask(request(TypeUrl.ClusterLoadAssignment, ['b'], [], { response_nonce: first!.nonce }))[0]!))
      .toEqual({ sent: ['b'], removed: [] });
    // Unsubscribing needs no answer, and a change to what is no longer subscribed is not pushed.
    expect(ask(request(TypeUrl.ClusterLoadAssignment, [], ['a']))).toEqual([]);
    t.publish([a1, endpoint('a', 'a2', 'n2', '10.0.1.1'), b1]);
    expect(sent).toHaveLength(2);
    expect(delta(ask(request(TypeUrl.ClusterLoadAssignment, ['b']))[0]!)).toEqual({ sent: ['b'], removed: [] });
  });

  it('under "*", answers unsubscribing one name with the resource, or its removal when the wildcard lacks it', () => {
    ask(request(TypeUrl.Listener, ['*', 'a', 'x']));
    expect(delta(ask(request(TypeUrl.Listener, [], ['a']))[0]!)).toEqual({ sent: ['a'], removed: [] });
    expect(delta(ask(request(TypeUrl.Listener, [], ['x']))[0]!)).toEqual({ sent: [], removed: ['x'] });
  });

  it('honours a subscription change that carries a stale nonce', () => {
    const [first] = ask(request(TypeUrl.Cluster, ['a']));
    t.publish([endpoint('a', 'a1', 'n1', '10.0.0.1', 50052), b1]);
    expect(sent).toHaveLength(1);
    expect(delta(ask(request(TypeUrl.Cluster, ['b'], [], { response_nonce: first!.nonce }))[0]!)).toEqual({ sent: ['b'], removed: [] });
  });

  it('reports a NACK of the latest response with its version and resends nothing', () => {
    const [first] = ask(request(TypeUrl.ClusterLoadAssignment, ['a'], [], { node: { id: 'envoy', cluster: '', user_agent_name: '' } }));
    ask(ackOf(first!));
    t.publish([endpoint('a', 'a1', 'n1', '10.0.0.1', 50052), b1]);
    const rejected = sent.at(-1)!;
    expect(ask(request(TypeUrl.ClusterLoadAssignment, [], [], {
      response_nonce: rejected.nonce, error_detail: { code: 3, message: 'bad endpoint' },
    }))).toEqual([]);
    expect(t.nacks).toMatchObject([{ node: 'envoy', rejectedVersion: rejected.system_version_info, message: 'bad endpoint' }]);
    expect(session.status().types[0]).toMatchObject({ ackedVersion: first!.system_version_info, lastNack: 'bad endpoint' });
  });

  it('keeps streams apart: each holds its own view of the same cache', () => {
    ask(request(TypeUrl.Cluster, ['a']));
    const other = newSession();
    const [response] = ask(request(TypeUrl.Cluster, ['*']), other);
    expect(delta(response!)).toEqual({ sent: ['a', 'b'], removed: [] });
    t.publish([a1, b1, c1]);
    expect(sent.slice(2).map(delta)).toEqual([{ sent: ['c'], removed: [] }]);
  });
});
