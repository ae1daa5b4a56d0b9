// One incremental stream (DeltaAggregatedResources). Per type it tracks the subscription and the version of
// each resource the client holds (seeded by `initial_resource_versions` when a client reconnects), and
// sends only resources whose version differs, plus `removed_resources` for those gone or never there.
// Subscription changes count even when their nonce is stale (the protocol says so); a NACK is reported and
// nothing is resent.
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from './discovery-messages.ts';
import type { CachedResource, ChangeSet } from './resource-cache.ts';
import { pushOrder, type TypeUrl } from './resource-types.ts';
import { Session, type SessionContext, type TypeState } from './session.ts';
import { Subscription } from './subscription.ts';

interface DeltaState extends TypeState {
  /** Name -> version the client holds; null: it was told the (explicitly named) resource does not exist. */
  readonly held: Map<string, string | null>;
  /** Names the next response must list as removed whatever else happens (see `handleTyped`). */
  readonly removals: Set<string>;
}

export class DeltaSession extends Session<DeltaDiscoveryRequest, DeltaState> {
  constructor(context: SessionContext, private readonly send: (response: DeltaDiscoveryResponse) => void) {
    super(context);
  }

  /** A reconnecting client lists what it holds, so nothing it has is sent again. */
  protected newState(first: DeltaDiscoveryRequest): DeltaState {
    return {
      subscription: new Subscription(),
      held: new Map(Object.entries(first.initial_resource_versions)),
      removals: new Set(),
      version: '',
      ackedVersion: '',
    };
  }

  protected handleTyped(typeUrl: TypeUrl, state: DeltaState, first: boolean, request: DeltaDiscoveryRequest): void {
    if (request.response_nonce !== '') this.acknowledge(typeUrl, state, request);
    const { subscription, held } = state;
    const requested = subscription.update(request.resource_names_subscribe, request.resource_names_unsubscribe);
    // A name subscribed again is sent again: the client may have dropped it while staying subscribed.
    if (!first) for (const name of requested) held.delete(name);
    for (const name of request.resource_names_unsubscribe) {
      if (name === '*') {
        for (const kept of held.keys()) if (!subscription.names.has(kept)) held.delete(kept);
        continue;
      }
      held.delete(name);
      // Still under "*", the client cannot tell whether to keep it: resend it, or say it is not there.
      if (subscription.isWildcard && !this.context.cache.has(typeUrl, name)) state.removals.add(name);
    }
    this.push(typeUrl, state, first);
  }

  resourcesChanged(changes: ChangeSet): void {
    for (const typeUrl of pushOrder) {
      const changed = changes.get(typeUrl);
      const state = this.types.get(typeUrl);
      if (changed && state) this.push(typeUrl, state, false, changed);
    }
  }

  private acknowledge(typeUrl: TypeUrl, state: DeltaState, request: DeltaDiscoveryRequest): void {
    const latest = request.response_nonce === state.nonce;
    if (request.error_detail) this.reportNack(typeUrl, state, request.response_nonce, latest ? state.version : '', request.error_detail);
    // Delta ACKs carry no version; an ACK of an older response says nothing about the latest one.
    else if (latest) this.recordAck(state, state.version);
    else this.context.stats.acks++;
  }

  private push(typeUrl: TypeUrl, state: DeltaState, always: boolean, only?: Iterable<string>): void {
    const { subscription, held } = state;
    const cache = this.context.cache;
    const names = new Set(only ?? [...subscription.names, ...(subscription.isWildcard ? cache.names(typeUrl) : []), ...held.keys()]);
    const resources: CachedResource[] = [];
    const removed = [...state.removals];
    state.removals.clear();
    for (const name of names) {
      const explicit = subscription.names.has(name);
      if (!explicit && !subscription.isWildcard) {
        held.delete(name);
        continue;
      }
      // A resource is there or not: the empty load assignment state of the world answers for a service that
      // does not exist is no answer here, where removed_resources says "does not exist" (the protocol's rule).
      const entry = cache.has(typeUrl, name) ? cache.get(typeUrl, name) : undefined;
      if (entry) {
        if (held.get(name) === entry.version) continue;
        held.set(name, entry.version);
        resources.push(entry);
      } else if (held.get(name) !== null && (explicit || held.has(name))) {
        removed.push(name);
        if (explicit) held.set(name, null);
        else held.delete(name);
      }
    }
    if (resources.length === 0 && removed.length === 0 && !always) return;
    const { nonce, version } = this.stamp(typeUrl, state);
    this.send({
      system_version_info: version,
      resources: cache.versionedList(resources),
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
      control_plane: { identifier: this.context.identifier },
    });
  }
}
