import { beforeEach, describe, expect, it } from 'vitest';
import type { DiscoveryRequest, DiscoveryResponse } from './discovery-messages.ts';
import { TypeUrl } from './resource-types.ts';
import { SotwSession } from './sotw-session.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import { endpointCount, resourceName, testContext, type TestContext } from './testing/session-context.ts';

const a1 = endpoint('a', 'a1', 'n1', '10.0.0.1');
const a2 = endpoint('a', 'a2', 'n2', '10.0.1.1');
const b1 = endpoint('b', 'b1', 'n1', '10.0.0.2');

let t: TestContext;
let sent: DiscoveryResponse[];
let session: SotwSession;

beforeEach(() => {
  t = testContext();
  t.publish([a1, b1]);
  sent = [];
  session = new SotwSession(t.context, (r) => sent.push(r));
  t.cache.onChange((changes) => session.resourcesChanged(changes));
});

function request(typeUrl: string, names: string[], nonce = '', extra: Partial<DiscoveryRequest> = {}): DiscoveryRequest {
  return { version_info: '', resource_names: names, type_url: typeUrl, response_nonce: nonce, ...extra };
}

/** Sends a request and returns the responses it caused. */
function ask(req: DiscoveryRequest): DiscoveryResponse[] {
  const before = sent.length;
  session.handle(req);
  return sent.slice(before);
}

function names(response: DiscoveryResponse): string[] {
  return response.resources.map(resourceName);
}

/** ACKs a response the way a client does: its version and nonce, the same names. */
function ack(response: DiscoveryResponse, resourceNames: string[]): DiscoveryResponse[] {
  return ask(request(response.type_url, resourceNames, response.nonce, { version_info: response.version_info }));
}

describe('SotwSession', () => {
  it('walks the gRPC client order LDS, RDS, CDS, EDS by name, a nonce on every response, silent on ACKs', () => {
    const nonces = new Set<string>();
    for (const typeUrl of [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment]) {
      const [response, ...more] = ask(request(typeUrl, ['a'], '', { node: { id: 'client-1', cluster: '', user_agent_name: 'grpc' } }));
      expect(more).toEqual([]);
      expect(response!.type_url).toBe(typeUrl);
      expect(names(response!)).toEqual(['a']);
      expect(response!.version_info).toBe(t.cache.version(typeUrl));
      expect(response!.control_plane).toEqual({ identifier: 'weftd-test' });
      nonces.add(response!.nonce);
      expect(ack(response!, ['a'])).toEqual([]);
    }
    expect(nonces.size).toBe(4);
    expect(t.context.stats.acks).toBe(4);
  });

  it('keeps the node of the first request although later ones leave it out', () => {
    const [r] = ask(request(TypeUrl.Cluster, [], '', { node: { id: 'envoy-7', cluster: 'c', user_agent_name: 'envoy' } }));
    ack(r!, []);
    expect(session.status().node).toBe('envoy-7');
  });

  it('answers a wildcard Cluster subscription with every cluster, again in full on each change', () => {
    const [first] = ask(request(TypeUrl.Cluster, []));
    expect(names(first!)).toEqual(['a', 'b']);
    ack(first!, []);
    t.publish([a1, b1, endpoint('c', 'c1', 'n1', '10.0.0.3')]);
    expect(sent.slice(1).map(names)).toEqual([['a', 'b', 'c']]);
    t.publish([a1]);
    expect(sent.slice(2).map(names)).toEqual([['a']]);
  });

  it('takes "*" as the wildcard and an empty list after named ones as nothing', () => {
    const [first] = ask(request(TypeUrl.Listener, ['*']));
    expect(names(first!)).toEqual(['a', 'b']);
    expect(ack(first!, ['a']).map(names)).toEqual([['a']]);
    const latest = sent.at(-1)!;
    expect(ack(latest, [])).toEqual([]);
    t.publish([a1, b1, endpoint('c', 'c1', 'n1', '10.0.0.3')]);
    expect(sent.at(-1)).toBe(latest);
  });

  it('sends only the subscribed load assignments that changed', () => {
    const [first] = ask(request(TypeUrl.ClusterLoadAssignment, ['a', 'b']));
    expect(names(first!)).toEqual(['a', 'b']);
    ack(first!, ['a', 'b']);
    t.publish([a1, a2, b1]);
    const [update, ...more] = sent.slice(1);
    expect(more).toEqual([]);
    expect(names(update!)).toEqual(['a']);
    expect(endpointCount(update!.resources[0]!)).toBe(2);
  });

  it('does not push to a stream that did not subscribe to what changed', () => {
    ack(ask(request(TypeUrl.ClusterLoadAssignment, ['b']))[0]!, ['b']);
    t.publish([a1, a2, b1]);
    expect(sent).toHaveLength(1);
  });

  it('answers a load assignment asked by name with an empty one when the service has no endpoints', () => {
    const [response] = ask(request(TypeUrl.ClusterLoadAssignment, ['ghost']));
    expect(names(response!)).toEqual(['ghost']);
    expect(endpointCount(response!.resources[0]!)).toBe(0);
    ack(response!, ['ghost']);
    t.publish([a1, b1, endpoint('ghost', 'g1', 'n1', '10.0.0.9')]);
    expect(endpointCount(sent.at(-1)!.resources[0]!)).toBe(1);
    t.publish([a1, b1]);
    expect(endpointCount(sent.at(-1)!.resources[0]!)).toBe(0);
  });

  it('answers the first request of a type even when there is nothing to send', () => {
    const [response] = ask(request(TypeUrl.RouteConfiguration, ['nothing-here']));
    expect(response!.resources).toEqual([]);
    expect(ask(request(TypeUrl.RouteConfiguration, ['nothing-here', 'still-nothing'], response!.nonce))).toEqual([]);
  });

  it('resends a resource newly named even if it did not change', () => {
    const [first] = ask(request(TypeUrl.RouteConfiguration, ['a']));
    const [second] = ack(first!, ['a', 'b']);
    expect(names(second!)).toEqual(['b']);
    const [third] = ack(second!, ['b']);
    expect(third).toBeUndefined();
    expect(names(ack(sent.at(-1)!, ['a', 'b'])[0]!)).toEqual(['a']);
  });

  it('ignores a request carrying a nonce older than the latest response of its type', () => {
    const [first] = ask(request(TypeUrl.ClusterLoadAssignment, ['a']));
    t.publish([a1, a2, b1]);
    const second = sent.at(-1)!;
    expect(second.nonce).not.toBe(first!.nonce);
    // The ACK of the first response, and a NACK of it, arrive after the second was sent: both stale.
    expect(ack(first!, ['a', 'b'])).toEqual([]);
    expect(ask(request(TypeUrl.ClusterLoadAssignment, ['a'], first!.nonce, { error_detail: { code: 3, message: 'old' } }))).toEqual([]);
    expect(t.context.stats.staleRequests).toBe(2);
    expect(t.nacks).toEqual([]);
    // The subscription change in the stale request was not taken: 'b' arrives once the latest nonce asks.
    expect(names(ack(second, ['a', 'b'])[0]!)).toEqual(['b']);
  });

  it('reports a NACK with the rejected version, resends nothing, and keeps the ACKed version', () => {
    const [first] = ask(request(TypeUrl.ClusterLoadAssignment, ['a'], '', { node: { id: 'n', cluster: '', user_agent_name: '' } }));
    ack(first!, ['a']);
    t.publish([a1, a2, b1]);
    const rejected = sent.at(-1)!;
    const nack = ask(request(TypeUrl.ClusterLoadAssignment, ['a'], rejected.nonce, {
      version_info: first!.version_info, error_detail: { code: 3, message: 'locality unset' },
    }));
    expect(nack).toEqual([]);
    expect(t.nacks).toEqual([{
      stream: session.id, node: 'n', typeUrl: TypeUrl.ClusterLoadAssignment, rejectedVersion: rejected.version_info,
      nonce: rejected.nonce, code: 3, message: 'locality unset',
    }]);
    const [eds] = session.status().types;
    expect(eds).toMatchObject({ ackedVersion: first!.version_info, lastNack: 'locality unset' });
    // The next change goes out as usual.
    t.publish([a1, b1]);
    expect(sent.at(-1)!.nonce).not.toBe(rejected.nonce);
    expect(endpointCount(sent.at(-1)!.resources[0]!)).toBe(1);
  });

  it('sends the current state on the first request of a new stream, whatever version the client had', () => {
    const [first] = ask(request(TypeUrl.Cluster, []));
    const fresh: DiscoveryResponse[] = [];
    const again = new SotwSession(t.context, (r) => fresh.push(r));
    again.handle(request(TypeUrl.Cluster, [], '', { version_info: first!.version_info }));
    expect(fresh.map(names)).toEqual([['a', 'b']]);
  });

  it('ignores types it does not serve', () => {
    expect(ask(request('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', []))).toEqual([]);
    expect(t.context.stats.unknownTypes).toBe(1);
  });

  it('pushes clusters before the listeners that need them when both change', () => {
    for (const typeUrl of [TypeUrl.RouteConfiguration, TypeUrl.Listener, TypeUrl.ClusterLoadAssignment, TypeUrl.Cluster]) {
      ack(ask(request(typeUrl, []))[0]!, []);
    }
    const before = sent.length;
    t.publish([a1, b1, endpoint('c', 'c1', 'n1', '10.0.0.3')]);
    expect(sent.slice(before).map((r) => r.type_url)).toEqual([
      TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration,
    ]);
  });
});
