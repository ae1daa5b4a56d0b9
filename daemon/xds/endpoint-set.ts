// Endpoints held in memory, keyed by container ID: an EndpointSource for the endpoints this daemon knows
// (its own containers' registrations) and for tests and benchmarks. Listeners run synchronously after each
// change; the xDS publisher coalesces bursts itself.
import type { Endpoint, EndpointSource } from '../../lib/weftd-api/endpoint.ts';

export class EndpointSet implements EndpointSource {
  private readonly byContainer = new Map<string, Endpoint>();
  private readonly listeners = new Set<() => void>();

  constructor(initial: Iterable<Endpoint> = []) {
    for (const endpoint of initial) this.byContainer.set(endpoint.containerId, endpoint);
  }

  endpoints(): Iterable<Endpoint> {
    return this.byContainer.values();
  }

  get size(): number {
    return this.byContainer.size;
  }

  /** Adds or replaces the endpoint of `endpoint.containerId`. */
  set(endpoint: Endpoint): void {
    this.byContainer.set(endpoint.containerId, endpoint);
    this.changed();
  }

  /** Removes a container's endpoint; false when there was none. */
  delete(containerId: string): boolean {
    const had = this.byContainer.delete(containerId);
    if (had) this.changed();
    return had;
  }

  /** Replaces every endpoint at once (one change notification). */
  replaceAll(endpoints: Iterable<Endpoint>): void {
    this.byContainer.clear();
    for (const endpoint of endpoints) this.byContainer.set(endpoint.containerId, endpoint);
    this.changed();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
