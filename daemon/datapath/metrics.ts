// The data path's metrics: reconcile runs, changes and errors, the peers programmed, and path health from
// the prober: peers by verdict, probes and a round-trip histogram by path, and (as detail, see
// ops/metrics.ts) each peer's verdict, probe counts and last round-trip time.
import type { MetricsRegistry, Sample } from '../ops/metrics.ts';
import type { DataPath } from './data-path.ts';
import type { OverlayProber, PathTotals } from './probe.ts';
import type { PeerVerdict } from '../../lib/weftd-api/node-status.ts';

const verdicts: readonly PeerVerdict[] = ['healthy', 'local-entry', 'vtep', 'underlay'];

export function registerDataPathMetrics(registry: MetricsRegistry, dataPath: DataPath, prober: OverlayProber): void {
  const { stats } = dataPath;
  registry.counter('weft_reconcile_runs_total', 'Data path reconcile runs (lease changes, kernel changes and the periodic check).', () => stats.runs);
  registry.counter('weft_reconcile_failures_total', 'Reconcile runs that failed or had kernel changes refused.', () => stats.failedRuns);
  registry.counter('weft_datapath_changes_total', 'Kernel changes applied (addresses, routes, neighbours, FDB entries).', () => stats.changes);
  registry.counter('weft_reconcile_incremental_runs_total', 'Runs that planned only the entries a lease or kernel change touched (the rest are full).', () => stats.incrementalRuns);
  registry.counter('weft_reconcile_kernel_runs_total', 'Reconcile runs started by a kernel change to what the data path programmed.', () => stats.kernelRuns);
  registry.counter('weft_kernel_notifications_lost_total', 'Times kernel change notifications were lost (each answered with a full run).', () => stats.notificationsLost);
  registry.counter('weft_vxlan_device_creations_total', 'Times the VXLAN device was created or recreated.', () => stats.deviceCreations);
  registry.gauge('weft_reconcile_last_duration_seconds', 'How long the last reconcile run took.', () =>
    (stats.lastRunMs === undefined ? undefined : stats.lastRunMs / 1000));
  registry.gauge('weft_reconcile_last_timestamp_seconds', 'When the last reconcile run started.', () =>
    (stats.lastRunAt === undefined ? undefined : stats.lastRunAt / 1000));
  registry.counter('weft_firewall_updates_total', 'Overlay nftables rule updates (masquerade, forward accept).', () => stats.natRuns);
  registry.counter('weft_firewall_update_failures_total', 'Overlay nftables rule updates that failed.', () => stats.natFailures);
  registry.gauge('weft_datapath_peers', 'Peers programmed in the data path, by how they are reached.', () => {
    const peers = dataPath.desired?.peers;
    if (!peers) return undefined;
    const direct = peers.filter((p) => p.direct).length;
    return [{ labels: { via: 'vxlan' }, value: peers.length - direct }, { labels: { via: 'direct' }, value: direct }];
  });
  registry.gauge('weft_datapath_skipped_leases', 'Leases left out of the data path (see the logs for why).', () => dataPath.desired?.skipped.length);

  registry.gauge('weft_peers_by_verdict', 'Peers by their path health from the last probe round.', () => {
    const counts = new Map<PeerVerdict, number>(verdicts.map((v) => [v, 0]));
    for (const h of prober.results()) counts.set(h.verdict, counts.get(h.verdict)! + 1);
    return verdicts.map((v) => ({ labels: { verdict: v }, value: counts.get(v)! }));
  });
  const byPath = (read: (t: PathTotals) => number): Sample[] => [...prober.totals].map(([path, t]) => ({ labels: { path }, value: read(t) }));
  registry.counter('weft_probes_sent_total', 'Probes sent to all peers, by path (kernel, kernel6, vtep, underlay).', () => byPath((t) => t.sent));
  registry.counter('weft_probes_answered_total', 'Probes answered in time, by path.', () => byPath((t) => t.answered));
  registry.histogram('weft_probe_rtt_seconds', 'Round-trip times of answered probes, by path.', () =>
    [...prober.totals].flatMap(([path, t]) => t.rttSeconds.samples({ path })));

  // By peer: detail (one series per peer and verdict or path).
  const detail = { detail: true };
  registry.gauge('weft_peer_path_verdict', 'Each peer\'s path health from the last probe round (1 for the current verdict).', () =>
    prober.results().flatMap((h) => verdicts.map((v) => ({ labels: { peer: h.nodeName, verdict: v }, value: h.verdict === v ? 1 : 0 }))), detail);
  const perPath = (read: (s: { sent: number; answered: number; lastRttMs: number | undefined }) => number | undefined): Sample[] =>
    prober.results().flatMap((h) => Object.entries(h.paths).flatMap(([path, s]) => {
      const value = read(s);
      return value === undefined ? [] : [{ labels: { peer: h.nodeName, path }, value }];
    }));
  registry.counter('weft_peer_probes_sent_total', 'Probes sent to each peer, by path (kernel, kernel6, vtep, underlay).', () => perPath((s) => s.sent), detail);
  registry.counter('weft_peer_probes_answered_total', 'Probes each peer answered in time, by path.', () => perPath((s) => s.answered), detail);
  registry.gauge('weft_peer_probe_rtt_seconds', 'Round-trip time of the last answered probe, by peer and path.', () =>
    perPath((s) => (s.lastRttMs === undefined ? undefined : s.lastRttMs / 1000)), detail);
  registry.counter('weft_probe_unknown_requests_total', 'Probe requests from nodes without a lease here (not answered).', () => prober.unknownRequests);
}
