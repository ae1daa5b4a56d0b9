import { describe, expect, it } from 'vitest';
import { XdsCodec } from './codec.ts';
import type { DeltaDiscoveryResponse, DiscoveryResponse, PackedResource } from './discovery-messages.ts';
import { TypeUrl } from './resource-types.ts';
import { buildSnapshot } from './snapshot.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';

const codec = new XdsCodec();
const snapshot = buildSnapshot([endpoint('a', 'a1', 'n1', '10.0.0.1'), endpoint('b', 'b1', 'n2', '10.0.0.2')]).snapshot;
const packed: PackedResource[] = [...snapshot[TypeUrl.ClusterLoadAssignment].values()].map((cla) => ({
  type_url: TypeUrl.ClusterLoadAssignment, value: codec.encodeResource(TypeUrl.ClusterLoadAssignment, cla),
}));

function plain(response: object): Buffer {
  const type = codec.root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
  return Buffer.from(type.encode(type.fromObject(response)).finish());
}

describe('XdsCodec', () => {
  it('encodes responses sharing one resources array so they decode as if encoded whole', () => {
    const shared = [...packed];
    const responses: DiscoveryResponse[] = ['n-1', 'n-2'].map((nonce) => ({
      version_info: 'v7', resources: shared, type_url: TypeUrl.ClusterLoadAssignment, nonce, control_plane: { identifier: 'weftd' },
    }));
    for (const response of responses) {
      const bytes = codec.discoveryResponse.encode(response);
      const decoded = codec.discoveryResponse.decode(bytes);
      expect(decoded.nonce).toBe(response.nonce);
      expect(decoded.version_info).toBe('v7');
      expect(decoded.resources.map((r) => Buffer.from(r.value))).toEqual(packed.map((p) => Buffer.from(p.value)));
      expect(decoded.resources.map((r) => r.type_url)).toEqual([TypeUrl.ClusterLoadAssignment, TypeUrl.ClusterLoadAssignment]);
      expect(codec.discoveryResponse.decode(plain(response))).toEqual(decoded);
    }
  });

  it('encodes delta responses the same way, names and versions kept', () => {
    const resources = packed.map((resource, i) => ({ name: ['a', 'b'][i]!, version: `v${i}`, resource }));
    const response: DeltaDiscoveryResponse = {
      system_version_info: 's', resources, type_url: TypeUrl.ClusterLoadAssignment, removed_resources: ['gone'], nonce: 'n',
    };
    const decoded = codec.deltaResponse.decode(codec.deltaResponse.encode(response));
    expect(decoded.resources.map((r) => [r.name, r.version, Buffer.from(r.resource.value)]))
      .toEqual(resources.map((r) => [r.name, r.version, Buffer.from(r.resource.value)]));
    expect(decoded.removed_resources).toEqual(['gone']);
  });

  it('declares ADS with both bidirectional methods', () => {
    const service = codec.adsService();
    expect(Object.fromEntries(Object.entries(service).map(([name, m]) => [name, [m.path, m.requestStream, m.responseStream]]))).toEqual({
      StreamAggregatedResources: ['/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', true, true],
      DeltaAggregatedResources: ['/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources', true, true],
    });
  });

  it('reads a request a client wrote, with an unset error_detail read as absent', () => {
    const bytes = codec.discoveryRequest.encode({
      version_info: '', node: { id: 'x', cluster: '', user_agent_name: 'grpc-node-js' }, resource_names: ['a'],
      type_url: TypeUrl.Listener, response_nonce: '',
    });
    const request = codec.discoveryRequest.decode(bytes);
    expect([request.node?.id, [...request.resource_names], request.type_url]).toEqual(['x', ['a'], TypeUrl.Listener]);
    expect(request.error_detail).toBeFalsy();
  });
});
