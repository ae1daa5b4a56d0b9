// What weftd's operability server answers on `GET /status` (daemon/ops/node-status.ts builds it; `weft
// node-status` prints it): this node's lease, every peer with its lease, how the data path reaches it and
// its probe verdict per path (daemon/datapath/probe-message.ts), and the last reconcile run. JSON for
// programs; times as ISO 8601 strings, so that a person reading `--json` needs no epoch arithmetic.

/** Where weftd's operability server (/status, /metrics, /readyz) listens unless its "listen" says otherwise. */
export const defaultListen = '127.0.0.1:9475';

/** The paths each peer is probed over. */
export type ProbePath = 'kernel' | 'kernel6' | 'vtep' | 'underlay';
export const probePaths: readonly ProbePath[] = ['kernel', 'kernel6', 'vtep', 'underlay'];

export type PeerVerdict = 'healthy' | 'local-entry' | 'vtep' | 'underlay';

/** Who answered a probe: the peer's daemon, or (kernel paths, while that daemon is away) the peer's kernel. */
export type ProbeResponder = 'daemon' | 'kernel';

export interface LeaseStatus {
  readonly subnet: string;
  readonly ipv6Subnet?: string;
  readonly publicIp: string;
  readonly vtepMac: string;
  /** Null for a reservation (no TTL). */
  readonly expiresAt: string | null;
}

export interface PathStatus {
  /** Answered in the last round. */
  readonly ok: boolean;
  readonly sent: number;
  readonly answered: number;
  readonly rttMs?: number;
  readonly error?: string;
  /** Who answered in the last round. */
  readonly answeredBy?: ProbeResponder;
}

export interface ProbeStatus {
  readonly verdict: PeerVerdict;
  /** When the verdict last changed. */
  readonly since: string;
  readonly checkedAt: string;
  readonly paths: Readonly<Partial<Record<ProbePath, PathStatus>>>;
}

export interface PeerStatus {
  readonly nodeName: string;
  readonly lease: LeaseStatus;
  /** How the data path reaches the peer; null when the lease is not programmed (see `skipped`). */
  readonly via: 'vxlan' | 'direct' | null;
  /** Null until the prober has probed the peer (or when the data path is not running). */
  readonly probe: ProbeStatus | null;
}

export interface ReconcileStatus {
  readonly runs: number;
  readonly failedRuns: number;
  /** The last run programmed everything it wanted. */
  readonly ok: boolean;
  readonly lastRunAt: string | null;
  readonly lastRunMs: number | null;
  readonly lastError: string | null;
  readonly peersProgrammed: number;
  readonly skipped: ReadonlyArray<{ readonly nodeName: string; readonly subnet: string; readonly reason: string }>;
}

export interface NodeStatus {
  readonly node: string;
  readonly ready: boolean;
  /** The readiness detail (what a start is waiting for, or the subnet once ready). */
  readonly readiness: string;
  readonly lease: LeaseStatus | null;
  /** This page of the peers (all of them in a small cluster): `?limit=N&after=SUBNET`, 100 by default. */
  readonly peers: readonly PeerStatus[];
  /** Every peer, counted. */
  readonly peerSummary: PeerSummary;
  /** The `after` of the next page; null on the last. */
  readonly nextAfter: string | null;
  /** Null while the data path is not running (before the lease is held). */
  readonly reconcile: ReconcileStatus | null;
}

export interface PeerSummary {
  readonly total: number;
  readonly notProgrammed: number;
  /** By probe verdict; "not probed" for peers without one yet. */
  readonly byVerdict: Readonly<Partial<Record<PeerVerdict | 'not probed', number>>>;
}

export const verdictMeaning: Record<PeerVerdict, string> = {
  healthy: 'the kernel data path answers',
  'local-entry': "this node's route, neighbour or FDB entry for the peer is wrong (its VTEP answers hand-encapsulated frames)",
  vtep: 'VXLAN between the nodes fails though the underlay answers (a VTEP does not decapsulate)',
  underlay: 'no answer over the underlay (the peer is unreachable or its daemon is down)',
};
