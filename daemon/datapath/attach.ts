// The data path as a daemon attachment (daemon.ts): once the lease is held, program the kernel, follow
// the lease set, probe the peers, and publish metrics and status. Stopping ends the timers and sockets and leaves the
// kernel state in place.
import type { DataPathIntervals } from '../config.ts';
import type { Attach, Attachment, DaemonContext } from '../daemon.ts';
import { DataPath } from './data-path.ts';
import type { DesiredDataPath } from './desired-state.ts';
import { registerDataPathMetrics } from './metrics.ts';
import { OverlayProber, type PeerHealth } from './probe.ts';

/** `onProbeRound` receives every peer's verdict after each probe round (the node health view's input). */
export function dataPathAttachment(intervals: DataPathIntervals, onProbeRound?: (results: readonly PeerHealth[]) => void): Attach {
  return (context: DaemonContext): Attachment => {
    const { config, underlay, log, leases } = context;
    const own = leases.lease;
    if (!own) throw new Error('the data path needs the lease first');
    const prober = new OverlayProber({
      vni: config.vni, vxlanPort: config.port, probePort: config.probePort, intervalMs: intervals.probeMs, log, ...(onProbeRound && { onRound: onProbeRound }),
    });
    // Binding follows programming: the overlay sockets need the device's addresses in place.
    let configuring: Promise<void> = Promise.resolve();
    const follow = (desired: DesiredDataPath) => {
      const lease = leases.lease ?? own;
      configuring = configuring
        .then(() => prober.configure({
          nodeName: lease.nodeName, publicIp: underlay.address, bindAddress: desired.device.local, vtepMac: lease.vtepMac, gateways: desired.gateways,
        }, desired.peers))
        .catch((err: unknown) => log.error('the overlay probe could not bind its sockets', { error: err }));
    };
    const dataPath = new DataPath({
      config, underlay, log, onProgrammed: follow, intervalMs: intervals.reconcileMs, natIntervalMs: intervals.firewallMs,
    });
    dataPath.start(own, leases.leases());
    const unsubscribe = leases.subscribe((event) => dataPath.update(event.own, event.leases));
    prober.start();
    registerDataPathMetrics(context.metrics, dataPath, prober);
    context.status.dataPath = () => ({ stats: dataPath.stats, desired: dataPath.desired, probes: prober.results() });
    return {
      async stop() {
        delete context.status.dataPath;
        unsubscribe();
        await configuring;
        await prober.stop();
        await dataPath.stop();
      },
    };
  };
}
