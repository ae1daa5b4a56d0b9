// `weft node-status`: what weftd on this node says of itself (its /status endpoint, daemon/ops/node-status.ts),
// for a person: the lease, the last reconcile, and a table of peers with each one's probe verdict and the
// paths behind it. `--json` prints the daemon's JSON instead.
import {
  probePaths, verdictMeaning, type LeaseStatus, type NodeStatus, type PathStatus, type PeerStatus, type ProbePath,
} from '../lib/weftd-api/node-status.ts';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';

/** The /status address below an ops server's base URL (`http://host:port`). */
export function statusUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/status`;
}

/** Asks weftd; a daemon that does not answer is code 11 (try again later), a bad answer 199. */
export async function fetchNodeStatus(base: string, timeoutMs = 5000): Promise<NodeStatus> {
  const url = statusUrl(base);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new CniError(ErrorCode.TryAgainLater, `weftd did not answer at ${url}`, cause, { cause: err });
  }
  const body = await res.text();
  if (!res.ok) throw new CniError(ErrorCode.Internal, `weftd answered ${res.status} at ${url}`, body.trim());
  try {
    return JSON.parse(body) as NodeStatus;
  } catch (err) {
    throw new CniError(ErrorCode.Internal, `weftd's answer at ${url} is not JSON`, (err as Error).message);
  }
}

/** "3m 20s", "1h 5m", "800 ms": coarse, for a person. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

function expiry(lease: LeaseStatus, now: number): string {
  if (lease.expiresAt === null) return 'reserved';
  const left = Date.parse(lease.expiresAt) - now;
  return left >= 0 ? `in ${formatDuration(left)}` : `expired ${formatDuration(-left)} ago`;
}

function ago(iso: string, now: number): string {
  return `${formatDuration(Math.max(0, now - Date.parse(iso)))} ago`;
}

function leaseLine(lease: LeaseStatus, now: number): string {
  const subnets = [lease.subnet, ...(lease.ipv6Subnet ? [lease.ipv6Subnet] : [])].join(' ');
  return `lease      ${subnets}, public IP ${lease.publicIp || '-'}, VTEP MAC ${lease.vtepMac || '-'}, expires ${expiry(lease, now)}`;
}

function reconcileLines(status: NodeStatus, now: number): string[] {
  const r = status.reconcile;
  if (!r) return ['reconcile  not running (the data path starts once the lease is held)'];
  const last = r.lastRunAt === null ? 'no run yet' : `last run ${ago(r.lastRunAt, now)}${r.lastRunMs === null ? '' : ` took ${r.lastRunMs.toFixed(1)} ms`}`;
  const peers = `${r.peersProgrammed} peer${r.peersProgrammed === 1 ? '' : 's'} programmed`;
  const lines = [`reconcile  ${r.ok ? 'ok' : 'FAILED'}, ${last}, ${r.runs} runs (${r.failedRuns} failed), ${peers}`];
  if (r.lastError !== null) lines.push(`           error: ${r.lastError}`);
  for (const s of r.skipped) lines.push(`           left out: ${s.nodeName} ${s.subnet}: ${s.reason}`);
  return lines;
}

function pathCell(path: PathStatus | undefined): string {
  if (!path) return '-';
  if (!path.ok) return 'no answer';
  return path.rttMs === undefined ? 'ok' : `ok ${path.rttMs.toFixed(1)} ms`;
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

function peerRow(peer: PeerStatus, paths: readonly ProbePath[], now: number): string[] {
  return [
    peer.nodeName,
    [peer.lease.subnet, ...(peer.lease.ipv6Subnet ? [peer.lease.ipv6Subnet] : [])].join(' '),
    peer.lease.publicIp || '-',
    expiry(peer.lease, now),
    peer.via ?? 'not programmed',
    peer.probe?.verdict ?? 'not probed yet',
    ...paths.map((p) => pathCell(peer.probe?.paths[p])),
  ];
}

/** Under a page of a large cluster's peers: how many there are in all, by verdict. */
function pageLine(status: NodeStatus): string {
  const { total, byVerdict, notProgrammed } = status.peerSummary;
  const counts = Object.entries(byVerdict).map(([verdict, n]) => `${verdict} ${n}`).join(', ');
  return `peers      ${status.peers.length} of ${total} shown (${counts}; ${notProgrammed} not programmed); ` +
    `the next page: /status?after=${status.nextAfter}`;
}

export function formatNodeStatus(status: NodeStatus, now: number): string {
  const lines = [`node       ${status.node}: ${status.ready ? 'ready' : 'NOT READY'} (${status.readiness})`];
  lines.push(status.lease ? leaseLine(status.lease, now) : 'lease      none yet');
  lines.push(...reconcileLines(status, now));
  if (status.peers.length === 0) return `${lines.join('\n')}\npeers      none\n`;
  // Only the paths some peer was probed on (kernel6 only on dual-stack networks).
  const paths = probePaths.filter((p) => status.peers.some((peer) => peer.probe?.paths[p]));
  const header = ['PEER', 'SUBNET', 'PUBLIC IP', 'LEASE EXPIRES', 'VIA', 'VERDICT', ...paths.map((p) => p.toUpperCase())];
  lines.push('', ...table([header, ...status.peers.map((peer) => peerRow(peer, paths, now))]));
  if (status.nextAfter !== null) lines.push('', pageLine(status));
  const unhealthy = status.peers.filter((p) => p.probe && p.probe.verdict !== 'healthy');
  if (unhealthy.length > 0) lines.push('');
  for (const peer of unhealthy) {
    lines.push(`${peer.nodeName}: ${peer.probe!.verdict} since ${ago(peer.probe!.since, now)}: ${verdictMeaning[peer.probe!.verdict]}`);
  }
  return `${lines.join('\n')}\n`;
}
