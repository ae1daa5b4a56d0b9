// The lease half's metrics: this node's lease, its renewals and losses, the store watch, peers and errors.
import type { LeaseManager } from '../lease/lease-manager.ts';
import type { MetricsRegistry } from './metrics.ts';

/** Failures the daemon counts outside the lease manager, by where they happened. */
export interface DaemonErrors {
  acquire: number;
  subnetFile: number;
}

const seconds = (ms: number) => ms / 1000;

export function registerLeaseMetrics(registry: MetricsRegistry, manager: LeaseManager, errors: DaemonErrors, ready: () => boolean): void {
  const { stats } = manager;
  registry.gauge('weft_ready', '1 once the lease is held and the subnet file written.', () => (ready() ? 1 : 0));
  registry.gauge('weft_lease_info', 'This node\'s lease (value 1; the facts are labels).', () => {
    const lease = manager.lease;
    if (!lease) return undefined;
    return [{
      value: 1,
      labels: {
        node: lease.nodeName, subnet: lease.subnet, ipv6_subnet: lease.ipv6Subnet ?? '', public_ip: lease.publicIp,
        vtep_mac: lease.vtepMac, reservation: String(lease.expiresAt === null),
      },
    }];
  });
  registry.gauge('weft_lease_expiry_timestamp_seconds', 'When this node\'s lease expires unless renewed (absent for a reservation).', () => {
    const expiresAt = manager.lease?.expiresAt;
    return expiresAt === null || expiresAt === undefined ? undefined : seconds(expiresAt);
  });
  registry.counter('weft_lease_acquisitions_total', 'Leases acquired (at start and after a loss).', () => stats.acquisitions);
  registry.counter('weft_lease_renewals_total', 'Successful lease renewals.', () => stats.renewals);
  registry.counter('weft_lease_renewal_failures_total', 'Lease renewals that failed and were retried.', () => stats.renewalFailures);
  registry.gauge('weft_lease_last_renewal_timestamp_seconds', 'When the lease was last renewed.', () =>
    (stats.lastRenewal === undefined ? undefined : seconds(stats.lastRenewal)));
  registry.counter('weft_lease_losses_total', 'Times this node\'s lease was found revoked, deleted or taken while running.', () => stats.losses);
  registry.counter('weft_store_watch_restarts_total', 'Times the store watch lost its stream or was cancelled and resumed.', () => stats.watchRestarts);
  registry.counter('weft_store_resyncs_total', 'Times the lease set was listed again (history compacted or unavailable).', () => stats.resyncs);
  registry.gauge('weft_peers', 'Leases of other nodes known from the store.', () => {
    const own = manager.lease?.subnet;
    return manager.leases().filter((l) => l.subnet !== own).length;
  });
  registry.counter('weft_errors_total', 'Errors by where they happened.', () => [
    { labels: { where: 'acquire' }, value: errors.acquire },
    { labels: { where: 'renew' }, value: stats.renewalFailures },
    { labels: { where: 'watch' }, value: stats.watchRestarts },
    { labels: { where: 'subnet_file' }, value: errors.subnetFile },
  ]);
  registry.gauge('process_start_time_seconds', 'Start time of the process since the epoch.', () => Math.floor(seconds(Date.now() - process.uptime() * 1000)));
}
