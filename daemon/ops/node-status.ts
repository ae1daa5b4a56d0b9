// Builds what `GET /status` answers (lib/weftd-api/node-status.ts) from the lease set and the data path.
//
// At 5,000 nodes the whole answer is megabytes: peers come a page at a time (in subnet order, `limit` of
// them after the subnet `after`; 100 by default), with counts over all of them beside.
//
// The data path is an attachment (datapath/attach.ts) and is not there before the lease is held: it fills
// `StatusSources.dataPath` while it runs, and the daemon builds the answer from that and the lease set.
import type { DataPathStats } from '../datapath/data-path.ts';
import type { DesiredDataPath } from '../datapath/desired-state.ts';
import type { PeerHealth } from '../datapath/probe.ts';
import { subnetOrder, type Lease } from '../lease/lease.ts';
import { formatCidr, tryParseCidr } from '../../lib/ip/cidr.ts';
import type {
  LeaseStatus, NodeStatus, PathStatus, PeerStatus, PeerVerdict, ProbePath, ProbeStatus, ReconcileStatus,
} from '../../lib/weftd-api/node-status.ts';

/** Which peers a request wants. */
export interface PeerPage {
  /** The subnet the page starts after (exclusive). */
  readonly after?: string;
  readonly limit: number;
}

export const defaultPeerLimit = 100;
const maxPeerLimit = 10_000;

/** The page a query asks for (`?limit=N&after=SUBNET`), or what is wrong with it. */
export function peerPage(params: URLSearchParams): PeerPage | string {
  const limitText = params.get('limit');
  const limit = limitText === null ? defaultPeerLimit : Number(limitText);
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > maxPeerLimit) return `"limit" must be a whole number from 0 to ${maxPeerLimit}`;
  const after = params.get('after');
  if (after === null) return { limit };
  if (!tryParseCidr(after)) return '"after" must be a subnet such as 10.244.3.0/24 (a page\'s "nextAfter")';
  return { limit, after };
}

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
  readonly page?: PeerPage;
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
  const page = input.page ?? { limit: defaultPeerLimit };
  // By subnet: a node name may hold a second, skipped lease, which is neither programmed nor probed.
  const programmed = new Map(dataPath?.desired?.peers.map((p) => [formatCidr(p.subnet), p]) ?? []);
  const probes = new Map(dataPath?.probes.map((h) => [h.nodeName, h]) ?? []);
  const all = input.leases.filter((l) => l.subnet !== own?.subnet);
  const byVerdict: Partial<Record<PeerVerdict | 'not probed', number>> = {};
  let notProgrammed = 0;
  const healthOf = (lease: Lease) => {
    const peer = programmed.get(lease.subnet);
    return { peer, health: peer && probes.get(lease.nodeName) };
  };
  for (const lease of all) {
    const { peer, health } = healthOf(lease);
    if (!peer) notProgrammed++;
    const key = health ? health.verdict : 'not probed';
    byVerdict[key] = (byVerdict[key] ?? 0) + 1;
  }
  const afterKey = page.after === undefined ? undefined : subnetOrder(page.after);
  const start = afterKey === undefined ? 0 : all.findIndex((l) => subnetOrder(l.subnet) > afterKey);
  const from = start < 0 ? all.length : start;
  const slice = all.slice(from, from + page.limit);
  const peers = slice.map((lease): PeerStatus => {
    const { peer, health } = healthOf(lease);
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
    peerSummary: { total: all.length, notProgrammed, byVerdict },
    nextAfter: from + page.limit < all.length && slice.length > 0 ? slice.at(-1)!.subnet : null,
    reconcile: dataPath ? reconcileStatus(dataPath) : null,
  };
}
