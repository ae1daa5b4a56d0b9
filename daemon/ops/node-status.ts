// Builds what `GET /status` answers (lib/weftd-api/node-status.ts) from the lease set and the data path.
//
// The data path is an attachment (datapath/attach.ts) and is not there before the lease is held: it fills
// `StatusSources.dataPath` while it runs, and the daemon builds the answer from that and the lease set.
import type { DataPathStats } from '../datapath/data-path.ts';
import type { DesiredDataPath } from '../datapath/desired-state.ts';
import type { PeerHealth } from '../datapath/probe.ts';
import type { Lease } from '../lease/lease.ts';
import { formatCidr } from '../../lib/ip/cidr.ts';
import type {
  LeaseStatus, NodeStatus, PathStatus, PeerStatus, ProbePath, ProbeStatus, ReconcileStatus,
} from '../../lib/weftd-api/node-status.ts';

/** What a running data path reports. */
export interface DataPathReport {
  readonly stats: Readonly<DataPathStats>;
  readonly desired: DesiredDataPath | undefined;
  readonly probes: readonly PeerHealth[];
}

/** Filled by the parts that start after the lease (the daemon passes this to them in its context). */
export interface StatusSources {
  dataPath?: () => DataPathReport;
}

export interface NodeStatusInput {
  readonly nodeName: string;
  readonly readiness: { readonly ok: boolean; readonly detail: string };
  readonly own: Lease | undefined;
  /** Every lease, this node's included. */
  readonly leases: readonly Lease[];
  readonly dataPath: DataPathReport | undefined;
}

function time(ms: number): string {
  return new Date(ms).toISOString();
}

function leaseStatus(lease: Lease): LeaseStatus {
  return {
    subnet: lease.subnet,
    ...(lease.ipv6Subnet ? { ipv6Subnet: lease.ipv6Subnet } : {}),
    publicIp: lease.publicIp,
    vtepMac: lease.vtepMac,
    expiresAt: lease.expiresAt === null ? null : time(lease.expiresAt),
  };
}

function probeStatus(health: PeerHealth): ProbeStatus {
  const paths: Partial<Record<ProbePath, PathStatus>> = {};
  for (const [path, s] of Object.entries(health.paths) as Array<[ProbePath, PeerHealth['paths'][ProbePath]]>) {
    if (!s) continue;
    paths[path] = {
      ok: s.lastOk, sent: s.sent, answered: s.answered,
      ...(s.lastRttMs !== undefined ? { rttMs: s.lastRttMs } : {}),
      ...(s.lastError !== undefined ? { error: s.lastError } : {}),
      ...(s.lastAnsweredBy !== undefined ? { answeredBy: s.lastAnsweredBy } : {}),
    };
  }
  return { verdict: health.verdict, since: time(health.since), checkedAt: time(health.checkedAt), paths };
}

function reconcileStatus(report: DataPathReport): ReconcileStatus {
  const { stats, desired } = report;
  return {
    runs: stats.runs,
    failedRuns: stats.failedRuns,
    ok: stats.runs > 0 && stats.lastError === undefined,
    lastRunAt: stats.lastRunAt === undefined ? null : time(stats.lastRunAt),
    lastRunMs: stats.lastRunMs ?? null,
    lastError: stats.lastError ?? null,
    peersProgrammed: desired?.peers.length ?? 0,
    skipped: desired?.skipped.map(({ nodeName, subnet, reason }) => ({ nodeName, subnet, reason })) ?? [],
  };
}

export function nodeStatus(input: NodeStatusInput): NodeStatus {
  const { own, dataPath } = input;
  // By subnet: a node name may hold a second, skipped lease, which is neither programmed nor probed.
  const programmed = new Map(dataPath?.desired?.peers.map((p) => [formatCidr(p.subnet), p]) ?? []);
  const probes = new Map(dataPath?.probes.map((h) => [h.nodeName, h]) ?? []);
  const peers = input.leases
    .filter((l) => l.subnet !== own?.subnet)
    .map((lease): PeerStatus => {
      const peer = programmed.get(lease.subnet);
      const health = peer && probes.get(lease.nodeName);
      return {
        nodeName: lease.nodeName,
        lease: leaseStatus(lease),
        via: peer ? (peer.direct ? 'direct' : 'vxlan') : null,
        probe: health ? probeStatus(health) : null,
      };
    });
  return {
    node: input.nodeName,
    ready: input.readiness.ok,
    readiness: input.readiness.detail,
    lease: own ? leaseStatus(own) : null,
    peers,
    reconcile: dataPath ? reconcileStatus(dataPath) : null,
  };
}
