import { describe, expect, it } from 'vitest';
import { XdsCodec } from './codec.ts';
import { TypeUrl } from './resource-types.ts';
import { buildSnapshot, endpointMetadata, labelMetadata, SnapshotBuilder } from './snapshot.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';

const codec = new XdsCodec();

const echo = [
  endpoint('echo', 'c3', 'node-b', '10.1.2.3', 50051),
  endpoint('echo', 'c1', 'node-a', '10.1.1.2', 50051, { labels: { team: 'blue', app: 'echo' } }),
  endpoint('echo', 'c2', 'node-a', '10.1.1.3', 50052, { health: 'unhealthy' }),
];

function roundTrip(typeUrl: string, resource: object): Record<string, unknown> {
  return codec.decodeResource(typeUrl, codec.encodeResource(typeUrl, resource));
}

describe('buildSnapshot', () => {
  it('names all four resources of a service after it, one of each per service, none for a container of no service', () => {
    const { service: _, ...plain } = endpoint('none', 'p1', 'node-a', '10.1.1.10');
    const { snapshot } = buildSnapshot([...echo, endpoint('web', 'w1', 'node-a', '10.1.1.9', 8080), plain]);
    for (const typeUrl of Object.values(TypeUrl)) expect([...snapshot[typeUrl].keys()]).toEqual(['echo', 'web']);
  });

  it('gives a locality per node, sub_zone the node, every locality a weight of its serving endpoints', () => {
    const cla = buildSnapshot(echo).snapshot[TypeUrl.ClusterLoadAssignment].get('echo')!;
    expect(cla.cluster_name).toBe('echo');
    expect(cla.endpoints.map((l) => [l.locality, l.load_balancing_weight.value])).toEqual([
      [{ region: '', zone: '', sub_zone: 'node-a' }, 1],
      [{ region: '', zone: '', sub_zone: 'node-b' }, 1],
    ]);
    const nodeA = cla.endpoints[0]!.lb_endpoints;
    expect(nodeA.map((e) => [e.endpoint.address.socket_address, e.health_status])).toEqual([
      [{ address: '10.1.1.2', port_value: 50051 }, 'HEALTHY'],
      [{ address: '10.1.1.3', port_value: 50052 }, 'UNHEALTHY'],
    ]);
  });

  it('weights a locality by its serving endpoints, and at least 1 when none serves', () => {
    const cla = buildSnapshot([
      endpoint('s', 'a1', 'a', '10.0.0.1'), endpoint('s', 'a2', 'a', '10.0.0.2', 50051, { health: 'unknown' }),
      endpoint('s', 'a3', 'a', '10.0.0.3', 50051, { health: 'draining' }),
      endpoint('s', 'b1', 'b', '10.0.1.1', 50051, { health: 'unhealthy' }),
    ]).snapshot[TypeUrl.ClusterLoadAssignment].get('s')!;
    expect(cla.endpoints.map((l) => l.load_balancing_weight.value)).toEqual([2, 1]);
    expect(cla.endpoints[0]!.lb_endpoints.map((e) => e.health_status)).toEqual(['HEALTHY', 'UNKNOWN', 'DRAINING']);
  });

  it('carries the container ID, node and labels as endpoint metadata', () => {
    const cla = buildSnapshot(echo).snapshot[TypeUrl.ClusterLoadAssignment].get('echo')!;
    const decoded = roundTrip(TypeUrl.ClusterLoadAssignment, cla) as any;
    const metadata = decoded.endpoints[0].lb_endpoints[0].metadata.filter_metadata;
    expect(metadata[endpointMetadata]).toEqual({ fields: { container_id: { stringValue: 'c1' }, node: { stringValue: 'node-a' } } });
    expect(metadata[labelMetadata]).toEqual({ fields: { app: { stringValue: 'echo' }, team: { stringValue: 'blue' } } });
    expect(decoded.endpoints[0].lb_endpoints[1].metadata.filter_metadata[labelMetadata]).toBeUndefined();
  });

  it('builds the same resources whatever the order of the endpoints', () => {
    const a = buildSnapshot(echo).snapshot;
    const b = buildSnapshot([...echo].reverse()).snapshot;
    for (const typeUrl of Object.values(TypeUrl)) {
      expect([...b[typeUrl].values()].map((r) => codec.encodeResource(typeUrl, r)))
        .toEqual([...a[typeUrl].values()].map((r) => codec.encodeResource(typeUrl, r)));
    }
  });

  it('skips an endpoint without a TCP port and a second endpoint on the same address and port', () => {
    const noTcp = endpoint('echo', 'u1', 'node-a', '10.1.1.4', 53, { ports: [{ name: 'dns', port: 53, protocol: 'udp' }] });
    const twin = endpoint('echo', 'c9', 'node-c', '10.1.2.3', 50051);
    const { snapshot, skipped } = buildSnapshot([...echo, noTcp, twin]);
    expect(skipped.map((s) => [s.endpoint.containerId, s.reason])).toEqual([
      ['u1', 'it lists no TCP port'],
      ['c9', '10.1.2.3:50051 already serves echo (container c3)'],
    ]);
    const localities = snapshot[TypeUrl.ClusterLoadAssignment].get('echo')!.endpoints.map((l) => l.locality.sub_zone);
    expect(localities).toEqual(['node-a', 'node-b']);
  });

  it('serves no resources for no endpoints', () => {
    const { snapshot } = buildSnapshot([]);
    for (const typeUrl of Object.values(TypeUrl)) expect(snapshot[typeUrl].size).toBe(0);
  });

  it('makes a Cluster of type EDS read over ADS, round robin, HTTP version following the downstream', () => {
    const cluster = roundTrip(TypeUrl.Cluster, buildSnapshot(echo).snapshot[TypeUrl.Cluster].get('echo')!);
    expect(cluster).toEqual({
      name: 'echo',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
        },
      },
    });
  });

  it('makes a Listener that is an API listener: HTTP connection manager, RDS over ADS, router filter last', () => {
    const listener = roundTrip(TypeUrl.Listener, buildSnapshot(echo).snapshot[TypeUrl.Listener].get('echo')!);
    expect(listener).toEqual({
      name: 'echo',
      api_listener: {
        api_listener: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: 'echo',
          rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: 'echo' },
          http_filters: [{
            name: 'envoy.filters.http.router',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
          }],
        },
      },
    });
  });

  it('makes a RouteConfiguration sending every path of every authority to the cluster', () => {
    const route = roundTrip(TypeUrl.RouteConfiguration, buildSnapshot(echo).snapshot[TypeUrl.RouteConfiguration].get('echo')!);
    expect(route).toEqual({
      name: 'echo',
      virtual_hosts: [{ name: 'echo', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'echo' } }] }],
    });
  });
});

describe('SnapshotBuilder', () => {
  it('rebuilds only the services whose endpoints changed, reusing the others\' resource objects', () => {
    const builder = new SnapshotBuilder();
    const web = endpoint('web', 'w1', 'node-a', '10.1.1.9', 8080);
    const first = builder.build([...echo, web]).snapshot;
    const second = builder.build([...echo, endpoint('web', 'w2', 'node-b', '10.1.2.9', 8080), web]).snapshot;
    for (const typeUrl of Object.values(TypeUrl)) {
      expect(second[typeUrl].get('echo')).toBe(first[typeUrl].get('echo'));
      expect(second[typeUrl].get('web')).not.toBe(first[typeUrl].get('web'));
    }
    expect(second[TypeUrl.ClusterLoadAssignment].get('web')!.endpoints).toHaveLength(2);
    // An equal but new endpoint object counts as a change: identity, not content, is compared.
    const third = builder.build([...echo.slice(1), { ...echo[0]! }]).snapshot;
    expect(third[TypeUrl.Cluster].get('echo')).not.toBe(second[TypeUrl.Cluster].get('echo'));
    expect([...third[TypeUrl.Cluster].keys()]).toEqual(['echo']);
  });

  it('drops a service whose every endpoint is skipped', () => {
    const { snapshot, skipped } = new SnapshotBuilder().build([endpoint('dns', 'd1', 'n', '10.0.0.53', 53, { ports: [] })]);
    expect(snapshot[TypeUrl.Listener].size).toBe(0);
    expect(skipped).toHaveLength(1);
  });
});
