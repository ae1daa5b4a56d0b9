// The incremental data path against the kernel: with the period out of the way (a minute), a lease change
// and a route deleted behind the data path's back are each answered by planning their own entries only,
// without a full run, and the notifications of weft's own changes start nothing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseIp } from '../../lib/ip/address.ts';
import { DataPath } from '../../daemon/datapath/data-path.ts';
import { weftRouteProtocol } from '../../daemon/datapath/plan.ts';
import type { LeaseSpec } from '../../daemon/lease/lease.ts';
import { Logger } from '../../daemon/log.ts';
import { parseNetworkConfig } from '../../daemon/network-config.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { createOverlayHosts, eventually, linkIndexIn, type OverlayHost } from './testing/overlay.ts';

cleanupAfterAll();

const vni = 78;
const device = `weft.${vni}`;
const log = new Logger('error', () => undefined);

function lease(n: number): LeaseSpec {
  return { nodeName: `node-${n}`, subnet: `10.244.${n}.0/24`, publicIp: `192.0.2.${n}`, vtepMac: `02:78:00:00:00:${n.toString(16).padStart(2, '0')}` };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeAsRoot('incremental data path', () => {
  let host: OverlayHost;
  let path: DataPath;
  const config = parseNetworkConfig({ network: '10.244.0.0/16', vni });
  const leases = Array.from({ length: 50 }, (_, i) => lease(i + 1));
  const routes = () => host.netns.ipJson<Array<{ dst: string }>>('route', 'show', 'proto', String(weftRouteProtocol)).map((r) => r.dst);
  const fullRuns = () => path.stats.runs - path.stats.incrementalRuns;

  beforeAll(() => {
    host = createOverlayHosts(1).hosts[0]!;
    path = new DataPath({
      config, log, netns: host.netns.path, intervalMs: 60_000, natIntervalMs: 60_000,
      underlay: { name: 'ul0', index: linkIndexIn(host.netns, 'ul0'), mtu: 1500, address: parseIp(host.underlayAddress) },
    });
    path.start(lease(1), leases);
  });
  afterAll(async () => {
    await path.stop();
  });

  it('programs a new lease\'s entries alone, and its own notifications start no run', async () => {
    // The first run's own notifications have been seen.
    await sleep(300);
    const full = fullRuns();
    const runs = path.stats.runs;
    path.update(lease(1), [...leases, lease(60)]);
    await eventually('the new route', () => routes().includes('10.244.60.0/24'));
    await sleep(300);
    expect(path.stats.runs - runs).toBe(1);
    expect(fullRuns()).toBe(full);
    expect(path.stats.changes).toBeGreaterThanOrEqual(49 * 3 + 3);
    path.update(lease(1), leases);
    await eventually('the route gone', () => !routes().includes('10.244.60.0/24'));
    await sleep(300);
    expect(path.stats.runs - runs).toBe(2);
    expect(fullRuns()).toBe(full);
  });

  it('puts back a route deleted behind its back without a full run', async () => {
    const full = fullRuns();
    host.netns.ip('route', 'del', '10.244.7.0/24');
    await eventually('the route back', () => routes().includes('10.244.7.0/24'));
    host.netns.ip('neigh', 'replace', '10.244.9.0', 'lladdr', '02:ee:ee:ee:ee:ee', 'dev', device, 'nud', 'permanent');
    await eventually('the neighbour back', () =>
      host.netns.ipJson<Array<{ lladdr: string }>>('neigh', 'show', '10.244.9.0', 'dev', device)[0]?.lladdr === '02:78:00:00:00:09');
    expect(fullRuns()).toBe(full);
    expect(path.run()).toMatchObject({ steps: [], failures: [] });
  });
});
