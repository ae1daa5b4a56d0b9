// A resource cache and session context for driving stream sessions without a network.
import { XdsCodec } from '../codec.ts';
import type { Endpoint } from '../../../lib/weftd-api/endpoint.ts';
import type { PackedResource } from '../discovery-messages.ts';
import { ResourceCache } from '../resource-cache.ts';
import { TypeUrl } from '../resource-types.ts';
import { emptyStats, type NackReport, type SessionContext } from '../session.ts';
import { buildSnapshot } from '../snapshot.ts';

export const codec = new XdsCodec();

export interface TestContext {
  readonly cache: ResourceCache;
  readonly context: SessionContext;
  readonly nacks: NackReport[];
  publish(endpoints: Endpoint[]): void;
}

export function testContext(): TestContext {
  const cache = new ResourceCache(codec);
  const nacks: NackReport[] = [];
  return {
    cache,
    nacks,
    context: { cache, stats: emptyStats(), onNack: (report) => nacks.push(report), identifier: 'weftd-test' },
    publish: (endpoints) => cache.set(buildSnapshot(endpoints).snapshot),
  };
}

/** The name inside a packed resource. */
export function resourceName(packed: PackedResource): string {
  const decoded = codec.decodeResource(packed.type_url, packed.value);
  return String(packed.type_url === TypeUrl.ClusterLoadAssignment ? decoded['cluster_name'] : decoded['name']);
}

/** The number of endpoints in a packed ClusterLoadAssignment. */
export function endpointCount(packed: PackedResource): number {
  const decoded = codec.decodeResource(packed.type_url, packed.value) as { endpoints?: { lb_endpoints?: unknown[] }[] };
  return (decoded.endpoints ?? []).reduce((n, locality) => n + (locality.lb_endpoints?.length ?? 0), 0);
}
