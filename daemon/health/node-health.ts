// Which nodes' endpoints are served, and as what: the one rule every consumer of endpoints (the xDS
// server, DNS) follows, so that they never disagree about a node.
//   gone     the node holds no live lease: its endpoints are left out, whatever the store still holds.
//   down     this node's probes found the node's data path down (no answer on the kernel path, from its
//            daemon or, while that daemon is away, from its kernel) in `downAfterRounds` rounds in a row:
//            its endpoints are served unhealthy (xDS) or left out (DNS). One good round serves them again.
//   serving  everything else: a peer not probed yet (a daemon that just started trusts the leases until
//            its first rounds) and a peer whose daemon restarts while its data path stays up included.
// This node is always serving: its own endpoints are its local API's.
import type { Attach } from '../daemon.ts';
import type { PeerVerdict } from '../../lib/weftd-api/node-status.ts';

export type NodeState = 'serving' | 'down' | 'gone';

/** What consumers read: a node's state now, and a call whenever any node's state changed. */
export interface NodeHealthView {
  state(nodeName: string): NodeState;
  /** Whether the node's endpoints receive traffic: it holds a lease and is not found down. */
  isServing(nodeName: string): boolean;
  /** Calls `listener` after every change of any node's state; returns the function that stops the calls. */
  onChange(listener: () => void): () => void;
}

/** One peer's verdict from one probe round. */
export interface ProbeVerdict {
  readonly nodeName: string;
  readonly verdict: PeerVerdict;
}

/** Failed rounds in a row that make a node down: one lost round is not an outage. */
export const downAfterRounds = 2;

export class NodeHealth implements NodeHealthView {
  private leased: ReadonlySet<string> = new Set();
  /** Probe rounds in a row each peer failed, for peers probed at least once. */
  private readonly failedRounds = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly self: string) {}

  state(nodeName: string): NodeState {
    if (nodeName === this.self) return 'serving';
    if (!this.leased.has(nodeName)) return 'gone';
    return (this.failedRounds.get(nodeName) ?? 0) >= downAfterRounds ? 'down' : 'serving';
  }

  isServing(nodeName: string): boolean {
    return this.state(nodeName) === 'serving';
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The nodes holding a live lease now. */
  leasesChanged(nodeNames: Iterable<string>): void {
    this.changing(() => {
      this.leased = new Set(nodeNames);
    });
  }

  /** The verdicts of one probe round; a peer no longer probed forgets its failures. */
  probed(verdicts: readonly ProbeVerdict[]): void {
    this.changing(() => {
      const probed = new Set(verdicts.map((v) => v.nodeName));
      for (const name of this.failedRounds.keys()) if (!probed.has(name)) this.failedRounds.delete(name);
      for (const { nodeName, verdict } of verdicts) {
        this.failedRounds.set(nodeName, verdict === 'healthy' ? 0 : (this.failedRounds.get(nodeName) ?? 0) + 1);
      }
    });
  }

  /** Applies `change`; tells the listeners when some node's state moved. */
  private changing(change: () => void): void {
    const names = () => [...new Set([...this.leased, ...this.failedRounds.keys()])];
    const before = new Map(names().map((n) => [n, this.state(n)]));
    change();
    const after = names();
    if (after.length === before.size && after.every((n) => before.get(n) === this.state(n))) return;
    for (const listener of [...this.listeners]) listener();
  }
}

/** Follows the daemon's lease set into `health` (the probe verdicts come from the data path's attachment). */
export function nodeHealthAttachment(health: NodeHealth): Attach {
  return (context) => {
    // The lease set drops a lease when the store does (etcd deletes an expired key; the embedded store's
    // watch reports expiries); its expiresAt is only as fresh as the last event, so it is not compared here.
    const follow = () => health.leasesChanged(context.leases.leases().map((l) => l.nodeName));
    follow();
    const unsubscribe = context.leases.subscribe(follow);
    return {
      stop: async () => {
        unsubscribe();
      },
    };
  };
}
