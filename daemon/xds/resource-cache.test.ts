import { describe, expect, it, vi } from 'vitest';
import { ResourceCache, type ChangeSet } from './resource-cache.ts';
import { TypeUrl } from './resource-types.ts';
import { buildSnapshot, SnapshotBuilder } from './snapshot.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import { codec, endpointCount } from './testing/session-context.ts';

const a1 = endpoint('a', 'a1', 'n1', '10.0.0.1');
const b1 = endpoint('b', 'b1', 'n1', '10.0.0.2');

function cacheWith(...endpoints: Parameters<typeof buildSnapshot>[0][]): { cache: ResourceCache; changes: ChangeSet[] } {
  const cache = new ResourceCache(codec);
  const changes: ChangeSet[] = [];
  cache.onChange((c) => changes.push(c));
  for (const set of endpoints) cache.set(buildSnapshot(set).snapshot);
  return { cache, changes };
}

describe('ResourceCache', () => {
  it('reports the names each update adds, changes or removes, and nothing for an equal update', () => {
    const { cache, changes } = cacheWith([a1], [a1, b1], [a1, b1], [b1]);
    expect(changes.map((c) => [...c.get(TypeUrl.ClusterLoadAssignment)!])).toEqual([['a'], ['b'], ['a']]);
    expect([...cache.names(TypeUrl.Cluster)]).toEqual(['b']);
  });

  it('changes only the load assignment when only endpoints change', () => {
    const { changes } = cacheWith([a1], [a1, endpoint('a', 'a2', 'n2', '10.0.1.1')]);
    expect([...changes[1]!.keys()]).toEqual([TypeUrl.ClusterLoadAssignment]);
  });

  it('derives versions from content: equal content, equal versions in another cache', () => {
    const first = cacheWith([a1, b1]).cache;
    const second = cacheWith([b1], [a1, b1]).cache;
    for (const typeUrl of Object.values(TypeUrl)) {
      expect(second.version(typeUrl)).toBe(first.version(typeUrl));
      expect(second.get(typeUrl, 'a')!.version).toBe(first.get(typeUrl, 'a')!.version);
    }
    const changed = cacheWith([a1, endpoint('b', 'b1', 'n1', '10.0.0.3')]).cache;
    expect(changed.version(TypeUrl.ClusterLoadAssignment)).not.toBe(first.version(TypeUrl.ClusterLoadAssignment));
    expect(changed.version(TypeUrl.Cluster)).toBe(first.version(TypeUrl.Cluster));
  });

  it('answers a load assignment for a service it does not have with an empty one, which does not count as present', () => {
    const { cache } = cacheWith([a1]);
    const empty = cache.get(TypeUrl.ClusterLoadAssignment, 'ghost')!;
    expect(codec.decodeResource(empty.packed.type_url, empty.packed.value)).toEqual({ cluster_name: 'ghost' });
    expect(endpointCount(empty.packed)).toBe(0);
    expect(cache.has(TypeUrl.ClusterLoadAssignment, 'ghost')).toBe(false);
    expect(cache.get(TypeUrl.Cluster, 'ghost')).toBeUndefined();
    expect([...cache.names(TypeUrl.ClusterLoadAssignment)]).toEqual(['a']);
  });

  it('keeps the types an update leaves out', () => {
    const { cache } = cacheWith([a1]);
    cache.set({ [TypeUrl.Listener]: new Map() });
    expect(cache.size(TypeUrl.Listener)).toBe(0);
    expect(cache.size(TypeUrl.Cluster)).toBe(1);
  });

  it('refuses a resource the codec cannot encode and keeps serving what it had', () => {
    const { cache, changes } = cacheWith([a1]);
    const before = cache.version(TypeUrl.Cluster);
    const bad = { name: 'x', eds_cluster_config: 'not a message' };
    expect(() => cache.set({
      [TypeUrl.Listener]: new Map(),
      [TypeUrl.Cluster]: new Map([['x', bad]]),
    })).toThrow();
    expect(cache.version(TypeUrl.Cluster)).toBe(before);
    expect(cache.size(TypeUrl.Listener)).toBe(1);
    expect(changes).toHaveLength(1);
  });

  it('does not encode again a resource given as the same object', () => {
    const cache = new ResourceCache(codec);
    const builder = new SnapshotBuilder();
    cache.set(builder.build([a1, b1]).snapshot);
    const encode = vi.spyOn(codec, 'encodeResource');
    try {
      const changes = cache.set(builder.build([a1, endpoint('b', 'b2', 'n2', '10.0.1.2')]).snapshot);
      expect(encode.mock.calls.map(([typeUrl, resource]) => [typeUrl, (resource as { name?: string; cluster_name?: string }).name
        ?? (resource as { cluster_name: string }).cluster_name])).toEqual(
        [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration].map((t) => [t, 'b']));
      expect([...changes.keys()]).toEqual([TypeUrl.ClusterLoadAssignment]);
    } finally {
      encode.mockRestore();
    }
  });

  it('hands out one packed list per content until the next change, so the codec encodes it once', () => {
    const { cache } = cacheWith([a1, b1]);
    const entries = () => ['a', 'b'].map((n) => cache.get(TypeUrl.ClusterLoadAssignment, n)!);
    const first = cache.packedList(entries());
    expect(cache.packedList(entries())).toBe(first);
    expect(cache.packedList(entries().slice(1))).not.toBe(first);
    expect(cache.versionedList(entries()).map((r) => r.name)).toEqual(['a', 'b']);
    // Equal bytes of another type are another list.
    const clusters = ['a', 'b'].map((n) => cache.get(TypeUrl.Cluster, n)!);
    expect(cache.packedList(clusters)).not.toBe(first);
    cache.set(buildSnapshot([a1, endpoint('b', 'b1', 'n1', '10.0.0.9')]).snapshot);
    expect(cache.packedList(entries())).not.toBe(first);
  });
});
