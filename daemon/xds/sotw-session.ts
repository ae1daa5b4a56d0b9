// One state-of-the-world stream (StreamAggregatedResources). Per type it remembers the subscription, the
// nonce of its latest response and the version of each resource it sent, and answers:
// - the first request of a type, always (an empty answer tells Envoy there is nothing to wait for);
// - later requests only when they carry the latest nonce: an older one was overtaken by a newer response;
// - Listener and Cluster with every subscribed resource whenever one changes (a missing one means deleted);
//   RouteConfiguration and ClusterLoadAssignment with only the resources that changed or were just asked for.
// A NACK (error_detail set) is reported and nothing is resent: the client keeps its last good version.
import type { DiscoveryRequest, DiscoveryResponse } from './discovery-messages.ts';
import type { CachedResource, ChangeSet } from './resource-cache.ts';
import { isFullStateType, pushOrder, type TypeUrl } from './resource-types.ts';
import { Session, type SessionContext, type TypeState } from './session.ts';
import { Subscription } from './subscription.ts';

interface SotwState extends TypeState {
  /** Name -> version of each resource sent and still subscribed. */
  readonly sent: Map<string, string>;
}

export class SotwSession extends Session<DiscoveryRequest, SotwState> {
  constructor(context: SessionContext, private readonly send: (response: DiscoveryResponse) => void) {
    super(context);
  }

  protected newState(): SotwState {
    return { subscription: new Subscription(), version: '', sent: new Map(), ackedVersion: '' };
  }

  protected handleTyped(typeUrl: TypeUrl, state: SotwState, first: boolean, request: DiscoveryRequest): void {
    if (state.nonce !== undefined) {
      if (request.response_nonce !== state.nonce) {
        this.context.stats.staleRequests++;
        return;
      }
      if (request.error_detail) this.reportNack(typeUrl, state, state.nonce, state.version, request.error_detail);
      else this.recordAck(state, request.version_info);
    }
    // Newly named resources are sent even if sent before: the client may have dropped them.
    for (const name of state.subscription.replace(request.resource_names)) state.sent.delete(name);
    for (const name of state.sent.keys()) if (!state.subscription.covers(name)) state.sent.delete(name);
    this.push(typeUrl, state, first);
  }

  resourcesChanged(changes: ChangeSet): void {
    for (const typeUrl of pushOrder) {
      const changed = changes.get(typeUrl);
      const state = this.types.get(typeUrl);
      if (!changed || !state) continue;
      const subscription = state.subscription;
      const touched = subscription.isWildcard ? [...changed] : [...changed].filter((n) => subscription.names.has(n));
      if (touched.length === 0) continue;
      this.push(typeUrl, state, false, isFullStateType(typeUrl) ? undefined : touched);
    }
  }

  /** The subscribed resources that exist (plus empty load assignments for named services without any). */
  private subscribed(typeUrl: TypeUrl, subscription: Subscription, only?: Iterable<string>): CachedResource[] {
    const cache = this.context.cache;
    const names = new Set(only ?? (subscription.isWildcard ? [...cache.names(typeUrl), ...subscription.names] : subscription.names));
    const found: CachedResource[] = [];
    for (const name of names) {
      const explicit = subscription.names.has(name);
      if (!explicit && !(subscription.isWildcard && cache.has(typeUrl, name))) continue;
      const entry = cache.get(typeUrl, name);
      if (entry) found.push(entry);
    }
    return found;
  }

  private push(typeUrl: TypeUrl, state: SotwState, always: boolean, only?: Iterable<string>): void {
    const wanted = this.subscribed(typeUrl, state.subscription, only);
    let resources: CachedResource[];
    if (isFullStateType(typeUrl)) {
      const differs = wanted.length !== state.sent.size || wanted.some((r) => state.sent.get(r.name) !== r.version);
      if (!differs && !always) return;
      resources = wanted;
      state.sent.clear();
    } else {
      resources = wanted.filter((r) => state.sent.get(r.name) !== r.version);
      // A resource gone from a wildcard subscription is forgotten, so its return is sent.
      const present = new Set(wanted.map((r) => r.name));
      if (only) for (const name of only) if (!present.has(name)) state.sent.delete(name);
      if (resources.length === 0 && !always) return;
    }
    for (const r of resources) state.sent.set(r.name, r.version);
    const { nonce, version } = this.stamp(typeUrl, state);
    this.send({
      version_info: version,
      resources: this.context.cache.packedList(resources),
      type_url: typeUrl,
      nonce,
      control_plane: { identifier: this.context.identifier },
    });
  }
}
