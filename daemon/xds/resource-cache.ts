// The resources being served, encoded once and shared by every stream. Each resource's version is a hash of
// its bytes and each type's version a hash of its (name, version) pairs, so equal content has equal versions
// on every node's daemon and across restarts: a client moving between daemons is not sent what it holds.
import { createHash } from 'node:crypto';
import type { XdsCodec } from './codec.ts';
import type { PackedResource, VersionedResource } from './discovery-messages.ts';
import type { ClusterLoadAssignment } from './envoy-resources.ts';
import { pushOrder, TypeUrl } from './resource-types.ts';

export interface CachedResource {
  readonly name: string;
  readonly version: string;
  readonly packed: PackedResource;
}

/** Resources in the form the codec encodes (envoy-resources.ts), by type and name. */
export type ResourcesByType = { readonly [T in TypeUrl]?: ReadonlyMap<string, object> };

/** The names added, changed or removed in one update, by type; types without changes are absent. */
export type ChangeSet = ReadonlyMap<TypeUrl, ReadonlySet<string>>;

function hash(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest('base64url').slice(0, 16);
}

export class ResourceCache {
  private readonly byType = new Map<TypeUrl, Map<string, CachedResource>>();
  /** The object each cached resource was encoded from: given again, it is not encoded again. */
  private readonly sources = new Map<TypeUrl, Map<string, object>>();
  private readonly versions = new Map<TypeUrl, string>();
  private readonly listeners = new Set<(changes: ChangeSet) => void>();
  /** Lists handed out since the last change, by content (see `packedList`). */
  private lists = new Map<string, readonly PackedResource[] | readonly VersionedResource[]>();

  constructor(private readonly codec: XdsCodec) {
    for (const typeUrl of pushOrder) {
      this.byType.set(typeUrl, new Map());
      this.sources.set(typeUrl, new Map());
      this.versions.set(typeUrl, hash(typeUrl));
    }
  }

  /**
   * Replaces what is served by `resources` (a type left out keeps its resources) and tells the listeners
   * what changed. Encodes everything before changing anything: a resource the codec refuses throws and
   * leaves the cache as it was.
   */
  set(resources: ResourcesByType): ChangeSet {
    const encoded = new Map<TypeUrl, Map<string, CachedResource>>();
    for (const typeUrl of pushOrder) {
      const given = resources[typeUrl];
      if (!given) continue;
      const current = this.byType.get(typeUrl)!;
      const sources = this.sources.get(typeUrl)!;
      const next = new Map<string, CachedResource>();
      for (const [name, resource] of given) {
        const same = sources.get(name) === resource ? current.get(name) : undefined;
        next.set(name, same ?? this.pack(typeUrl, name, resource));
      }
      encoded.set(typeUrl, next);
    }
    const changes = new Map<TypeUrl, Set<string>>();
    for (const [typeUrl, next] of encoded) {
      const current = this.byType.get(typeUrl)!;
      const changed = new Set<string>();
      for (const [name, entry] of next) if (current.get(name)?.version !== entry.version) changed.add(name);
      for (const name of current.keys()) if (!next.has(name)) changed.add(name);
      this.sources.set(typeUrl, new Map(resources[typeUrl]!));
      if (changed.size === 0) continue;
      this.byType.set(typeUrl, next);
      this.versions.set(typeUrl, hash(typeUrl, ...[...next.values()].flatMap((e) => [e.name, '\0', e.version, '\0'])));
      changes.set(typeUrl, changed);
    }
    if (changes.size > 0) {
      this.lists = new Map();
      for (const listener of [...this.listeners]) listener(changes);
    }
    return changes;
  }

  /**
   * A resource by name. A ClusterLoadAssignment is always answered: a service without endpoints gets an
   * empty one, so a client asking for it learns "no endpoints" at once instead of waiting for a timeout.
   */
  get(typeUrl: TypeUrl, name: string): CachedResource | undefined {
    const entry = this.byType.get(typeUrl)!.get(name);
    if (entry || typeUrl !== TypeUrl.ClusterLoadAssignment) return entry;
    const empty: ClusterLoadAssignment = { cluster_name: name, endpoints: [] };
    return this.pack(typeUrl, name, empty);
  }

  /** Whether the resource exists (a synthesized empty load assignment does not count). */
  has(typeUrl: TypeUrl, name: string): boolean {
    return this.byType.get(typeUrl)!.has(name);
  }

  /** The names a wildcard subscription to the type covers. */
  names(typeUrl: TypeUrl): Iterable<string> {
    return this.byType.get(typeUrl)!.keys();
  }

  size(typeUrl: TypeUrl): number {
    return this.byType.get(typeUrl)!.size;
  }

  version(typeUrl: TypeUrl): string {
    return this.versions.get(typeUrl)!;
  }

  /**
   * `entries` packed for a state-of-the-world response. Streams sending the same resources get the same
   * array, which the codec encodes once for all of them (codec.ts); a push to 100 clients encodes once.
   */
  packedList(entries: readonly CachedResource[]): readonly PackedResource[] {
    return this.shared('sotw', entries, () => entries.map((e) => e.packed)) as readonly PackedResource[];
  }

  /** `entries` with their names and versions for an incremental response, shared the same way. */
  versionedList(entries: readonly CachedResource[]): readonly VersionedResource[] {
    return this.shared('delta', entries, () => entries.map((e) => ({ name: e.name, version: e.version, resource: e.packed }))) as readonly VersionedResource[];
  }

  onChange(listener: (changes: ChangeSet) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private shared<T>(variant: string, entries: readonly CachedResource[], make: () => T): T {
    // Versions hash the bytes, names included; the type URL keeps equal bytes of two types apart.
    const key = `${variant} ${entries[0]?.packed.type_url} ${entries.map((e) => e.version).join(' ')}`;
    let list = this.lists.get(key) as T | undefined;
    if (!list) {
      list = make();
      this.lists.set(key, list as readonly PackedResource[]);
    }
    return list;
  }

  private pack(typeUrl: TypeUrl, name: string, resource: object): CachedResource {
    const value = this.codec.encodeResource(typeUrl, resource);
    return { name, version: hash(value), packed: { type_url: typeUrl, value } };
  }
}
