// What one stream subscribes to for one resource type, by the protocol's rules: explicit names, the wildcard
// "*", and the legacy wildcard (a stream that has never named a resource of the type gets all of them).
// Once a name has been given, an empty list means "nothing", not "everything".

const wildcardName = '*';

export class Subscription {
  private explicit = new Set<string>();
  private wildcard = false;
  private named = false;
  private started = false;

  get isWildcard(): boolean {
    return this.wildcard;
  }

  /** The explicitly subscribed names ("*" excluded). */
  get names(): ReadonlySet<string> {
    return this.explicit;
  }

  covers(name: string): boolean {
    return this.wildcard || this.explicit.has(name);
  }

  /** State of the world: `resourceNames` is the whole new set. Returns the names it adds. */
  replace(resourceNames: readonly string[]): string[] {
    this.started = true;
    if (!this.named && resourceNames.length === 0) {
      this.wildcard = true;
      return [];
    }
    this.named = true;
    const next = new Set(resourceNames);
    this.wildcard = next.delete(wildcardName);
    const added = [...next].filter((name) => !this.explicit.has(name));
    this.explicit = next;
    return added;
  }

  /** Incremental: names added and dropped. Returns the explicit names this request subscribes. */
  update(subscribe: readonly string[], unsubscribe: readonly string[]): string[] {
    if (!this.started && subscribe.length === 0 && unsubscribe.length === 0) this.wildcard = true;
    this.started = true;
    for (const name of unsubscribe) {
      if (name === wildcardName) this.wildcard = false;
      else this.explicit.delete(name);
    }
    const requested: string[] = [];
    for (const name of subscribe) {
      if (name === wildcardName) this.wildcard = true;
      else {
        this.explicit.add(name);
        requested.push(name);
      }
    }
    return requested;
  }
}
