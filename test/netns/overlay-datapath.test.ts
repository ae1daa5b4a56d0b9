// The data path (daemon/datapath) against the kernel, driven directly with leases written by the test:
// three simulated hosts on one underlay, each programmed from the same lease set, containers behind a
// bridge on each host pinging each other across VXLAN, and the underlay captured and decoded with
// lib/vxlan. Then the reconcile rules: stale peers go (also after a "restart"), foreign state stays, a
// deleted or wrong device comes back, direct routing, dual stack.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { DataPath } from '../../daemon/datapath/data-path.ts';
import { weftRouteProtocol } from '../../daemon/datapath/plan.ts';
import type { LeaseSpec } from '../../daemon/lease/lease.ts';
import { Logger } from '../../daemon/log.ts';
import { KernelWatch, type KernelChange } from '../../lib/netlink/index.ts';
import { parseNetworkConfig, type NetworkConfig } from '../../daemon/network-config.ts';
import { runChecked } from './testing/command.ts';
import type { Underlay } from './testing/hosts.ts';
import type { Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { ruleset } from './testing/nat.ts';
import {
  addContainer, captureUnderlay, createOverlayHosts, eventually, linkIndexIn, pingOk, type Container, type OverlayHost,
} from './testing/overlay.ts';

cleanupAfterAll();

const vni = 77;
const device = `weft.${vni}`;
const logLines: string[] = [];
const log = new Logger('info', (line) => logLines.push(line));

function lease(n: number, extra: Partial<LeaseSpec> = {}): LeaseSpec {
  return { nodeName: `node-${n}`, subnet: `10.244.${n}.0/24`, publicIp: `192.0.2.${n}`, vtepMac: `02:77:00:00:00:0${n}`, ...extra };
}

function dataPathFor(host: OverlayHost, config: NetworkConfig): DataPath {
  return new DataPath({
    config, log,
    underlay: { name: 'ul0', index: linkIndexIn(host.netns, 'ul0'), mtu: 1500, address: parseIp(host.underlayAddress) },
    // Links, routes and nftables rules all inside the simulated host, never the root namespace.
    netns: host.netns.path,
    intervalMs: 200,
    natIntervalMs: 60_000,
  });
}

interface IpRoute { dst: string; gateway?: string; dev: string; flags: string[]; protocol?: string }
interface IpNeigh { dst: string; lladdr?: string; state: string[] }
interface BridgeFdb { mac: string; dst?: string; flags: string[]; state?: string }

const routesOf = (ns: Netns, family: '-4' | '-6' = '-4') => ns.ipJson<IpRoute[]>(family, 'route', 'show', 'proto', String(weftRouteProtocol))
  .map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}${r.flags.includes('onlink') ? ' onlink' : ''}`);
const neighboursOf = (ns: Netns) => ns.ipJson<IpNeigh[]>('neigh', 'show', 'dev', device, 'nud', 'permanent').map((n) => `${n.dst} ${n.lladdr}`);
const fdbOf = (ns: Netns) => (JSON.parse(runChecked('bridge', ['-n', ns.name, '-j', 'fdb', 'show', 'dev', device]) || '[]') as BridgeFdb[])
  .filter((e) => e.dst !== undefined)
  .map((e) => `${e.mac} ${e.dst}`);

describeAsRoot('overlay data path on three hosts', () => {
  let underlay: Underlay;
  let hosts: OverlayHost[];
  let containers: Container[];
  let paths: DataPath[];
  const config = parseNetworkConfig({ network: '10.244.0.0/16', vni });
  const all = [lease(1), lease(2), lease(3)];

  beforeAll(() => {
    ({ underlay, hosts } = createOverlayHosts(3));
    paths = hosts.map((h) => dataPathFor(h, config));
    paths.forEach((p, i) => p.start(all[i]!, all));
    containers = hosts.map((h) => addContainer(h.netns, `10.244.${h.n}.0/24`, 1450));
  });
  afterAll(async () => {
    await Promise.all(paths.map((p) => p.stop()));
  });

  it('creates the device, its address and every peer\'s route, neighbour and FDB entry', () => {
    const h1 = hosts[0]!.netns;
    const [link] = h1.ipJson<Array<{ mtu: number; address: string; operstate: string; linkinfo: { info_kind: string; info_data: Record<string, unknown> } }>>('-d', 'link', 'show', device);
    expect(link).toMatchObject({ mtu: 1450, address: '02:77:00:00:00:01', linkinfo: { info_kind: 'vxlan' } });
    expect(link!.linkinfo.info_data).toMatchObject({ id: vni, local: '192.0.2.1', link: 'ul0', port: 4789, learning: false });
    expect(h1.ipJson<Array<{ addr_info: Array<{ local: string; prefixlen: number; family: string }> }>>('addr', 'show', device)[0]!.addr_info
      .filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['10.244.1.0/32']);
    expect(routesOf(h1)).toEqual(['10.244.2.0/24 via 10.244.2.0 dev weft.77 onlink', '10.244.3.0/24 via 10.244.3.0 dev weft.77 onlink']);
    expect(neighboursOf(h1).sort()).toEqual(['10.244.2.0 02:77:00:00:00:02', '10.244.3.0 02:77:00:00:00:03']);
    expect(fdbOf(h1).sort()).toEqual(['02:77:00:00:00:02 192.0.2.2', '02:77:00:00:00:03 192.0.2.3']);
    expect(runChecked('ip', ['netns', 'exec', h1.name, 'sysctl', '-n', 'net.ipv4.ip_forward']).trim()).toBe('1');
  });

  it('changes nothing on a second run', () => {
    for (const p of paths) expect(p.run()).toMatchObject({ device: 'kept', steps: [], failures: [] });
  });

  it('carries container traffic between all three hosts over VXLAN with the right VNI', async () => {
    const capture = await captureUnderlay(underlay, 'udp port 4789');
    for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as const) {
      expect(pingOk(containers[a]!.netns, containers[b]!.address), `container ${a + 1} → ${b + 1}`).toBe(true);
    }
    const frames = await capture.stop();
    const vxlan = frames.filter((f) => f.vxlan);
    expect(vxlan.length).toBeGreaterThanOrEqual(12);
    expect(new Set(vxlan.map((f) => f.vxlan!.vni))).toEqual(new Set([vni]));
    // 10.244.1.2 → 10.244.2.2 travels 192.0.2.1 → 192.0.2.2, inside a frame to host 2's VTEP MAC.
    const oneToTwo = vxlan.find((f) => f.vxlan!.inner.ip && formatIp(f.vxlan!.inner.ip.src) === '10.244.1.2' && formatIp(f.vxlan!.inner.ip.dst) === '10.244.2.2');
    expect(oneToTwo).toBeDefined();
    expect(formatIp(oneToTwo!.ip!.src)).toBe('192.0.2.1');
    expect(formatIp(oneToTwo!.ip!.dst)).toBe('192.0.2.2');
    expect(oneToTwo!.vxlan!.inner.ethernet).toMatchObject({ src: '02:77:00:00:00:01', dst: '02:77:00:00:00:02' });
    expect(oneToTwo!.vxlan!.inner.ip!.protocol).toBe(1);
  });

  it('installs the overlay masquerade and forward rules in each host\'s firewall', async () => {
    await eventually('nft rules', () => ruleset(hosts[0]!.netns).chains.some((c) => c.table === 'weft' && c.name === 'overlay-postrouting'));
    expect(paths[0]!.stats.natFailures).toBe(0);
  });

  it('removes a peer whose lease went, on a live change', async () => {
    const h2 = hosts[1]!.netns;
    paths[1]!.update(lease(2), [lease(1), lease(2)]);
    await eventually('host 3 removed from host 2', () => !routesOf(h2).some((r) => r.startsWith('10.244.3.0/24')));
    expect(neighboursOf(h2)).toEqual(['10.244.1.0 02:77:00:00:00:01']);
    expect(fdbOf(h2)).toEqual(['02:77:00:00:00:01 192.0.2.1']);
    expect(pingOk(containers[1]!.netns, containers[0]!.address)).toBe(true);
    expect(pingOk(containers[1]!.netns, containers[2]!.address, 1)).toBe(false);
    paths[1]!.update(lease(2), all);
    await eventually('host 3 back on host 2', () => pingOk(containers[1]!.netns, containers[2]!.address, 1));
  });

  it('after a restart, removes peers that left while it was down and touches nothing it does not own', async () => {
    const h1 = hosts[0]!.netns;
    // Someone else's state on and around the device: a route, a flood entry, a non-permanent neighbour.
    h1.ip('route', 'add', '10.99.0.0/24', 'dev', device);
    h1.ip('route', 'add', '10.98.0.0/24', 'via', '192.0.2.9', 'dev', 'ul0', 'proto', 'static');
    runChecked('bridge', ['-n', h1.name, 'fdb', 'append', '00:00:00:00:00:00', 'dev', device, 'dst', '192.0.2.99']);
    h1.ip('neigh', 'add', '10.99.0.9', 'lladdr', '02:99:00:00:00:09', 'dev', device, 'nud', 'stale');
    await paths[0]!.stop();
    paths[0] = dataPathFor(hosts[0]!, config);
    const outcome = paths[0].start(lease(1), [lease(1), lease(2)]);
    expect(outcome.device).toBe('kept');
    expect(routesOf(h1)).toEqual(['10.244.2.0/24 via 10.244.2.0 dev weft.77 onlink']);
    expect(neighboursOf(h1)).toEqual(['10.244.2.0 02:77:00:00:00:02']);
    expect(fdbOf(h1).sort()).toEqual(['00:00:00:00:00:00 192.0.2.99', '02:77:00:00:00:02 192.0.2.2']);
    expect(h1.ipJson<IpRoute[]>('route', 'show', '10.99.0.0/24')).toHaveLength(1);
    expect(h1.ipJson<IpRoute[]>('route', 'show', '10.98.0.0/24')).toHaveLength(1);
    expect(h1.ipJson<IpNeigh[]>('neigh', 'show', '10.99.0.9', 'dev', device)).toHaveLength(1);
    expect(pingOk(containers[0]!.netns, containers[1]!.address)).toBe(true);
    paths[0].update(lease(1), all);
    await eventually('host 3 back on host 1', () => pingOk(containers[0]!.netns, containers[2]!.address, 1));
  });

  it('runs on its period when nothing happens, and changes nothing', async () => {
    const { stats } = paths[1]!;
    // Nothing updates the leases here: the runs the kernel did not start are the timer's.
    const timed = () => stats.runs - stats.kernelRuns;
    const [runs, changes] = [timed(), stats.changes];
    await eventually('three periodic runs', () => timed() >= runs + 3);
    expect(stats.changes).toBe(changes);
    expect(stats.lastError).toBeUndefined();
  });

  it('recreates a deleted device when the kernel announces it, with every entry', async () => {
    const h2 = hosts[1]!.netns;
    const { stats } = paths[1]!;
    const [creations, kernelRuns] = [stats.deviceCreations, stats.kernelRuns];
    h2.ip('link', 'del', device);
    await eventually('device recreated', () => stats.deviceCreations > creations);
    expect(stats.kernelRuns).toBeGreaterThan(kernelRuns);
    expect(routesOf(h2)).toHaveLength(2);
    expect(pingOk(containers[1]!.netns, containers[0]!.address)).toBe(true);
    expect(pingOk(containers[0]!.netns, containers[1]!.address)).toBe(true);
  });

  it('recreates a device with the wrong VNI and repairs a wrong neighbour entry', () => {
    const h3 = hosts[2]!.netns;
    h3.ip('link', 'del', device);
    h3.ip('link', 'add', device, 'type', 'vxlan', 'id', '5', 'dstport', '4789', 'dev', 'ul0');
    const outcome = paths[2]!.run();
    expect(outcome).toMatchObject({ device: 'recreated', deviceReason: 'VNI 5, wanted 77', failures: [] });
    h3.ip('neigh', 'replace', '10.244.1.0', 'lladdr', '02:00:00:00:0b:ad', 'dev', device, 'nud', 'permanent');
    expect(paths[2]!.run()?.steps.map((s) => s.op)).toEqual(['neighSet']);
    expect(neighboursOf(h3).sort()).toEqual(['10.244.1.0 02:77:00:00:00:01', '10.244.2.0 02:77:00:00:00:02']);
    expect(pingOk(containers[2]!.netns, containers[0]!.address)).toBe(true);
  });
});

describeAsRoot('overlay data path with directRouting', () => {
  let underlay: Underlay;
  let hosts: OverlayHost[];
  let containers: Container[];
  let paths: DataPath[];

  beforeAll(() => {
    ({ underlay, hosts } = createOverlayHosts(2));
    const config = parseNetworkConfig({ network: '10.244.0.0/16', vni, directRouting: true });
    paths = hosts.map((h) => dataPathFor(h, config));
    paths.forEach((p, i) => p.start(lease(i + 1), [lease(1), lease(2)]));
    containers = hosts.map((h) => addContainer(h.netns, `10.244.${h.n}.0/24`, 1450));
  });
  afterAll(async () => {
    await Promise.all(paths.map((p) => p.stop()));
  });

  it('routes a peer on the same segment plainly over the underlay, without encapsulation', async () => {
    expect(routesOf(hosts[0]!.netns)).toEqual(['10.244.2.0/24 via 192.0.2.2 dev ul0']);
    expect(fdbOf(hosts[0]!.netns)).toEqual([]);
    const capture = await captureUnderlay(underlay, 'icmp or udp port 4789');
    expect(pingOk(containers[0]!.netns, containers[1]!.address)).toBe(true);
    const frames = await capture.stop();
    expect(frames.some((f) => f.vxlan)).toBe(false);
    expect(frames.some((f) => f.ip && formatIp(f.ip.src) === '10.244.1.2' && formatIp(f.ip.dst) === '10.244.2.2')).toBe(true);
  });
});

describeAsRoot('overlay data path, dual stack', () => {
  let hosts: OverlayHost[];
  let containers: Container[];
  let paths: DataPath[];
  const v6 = (n: number) => `fd00:244:0:${n}::/64`;

  beforeAll(() => {
    ({ hosts } = createOverlayHosts(2));
    const config = parseNetworkConfig({ network: '10.244.0.0/16', vni, ipv6Network: 'fd00:244::/48', ipv6SubnetLen: 64 });
    const leases = [lease(1, { ipv6Subnet: v6(1) }), lease(2, { ipv6Subnet: v6(2) })];
    paths = hosts.map((h) => dataPathFor(h, config));
    paths.forEach((p, i) => p.start(leases[i]!, leases));
    containers = hosts.map((h) => addContainer(h.netns, `10.244.${h.n}.0/24`, 1450, v6(h.n)));
  });
  afterAll(async () => {
    await Promise.all(paths.map((p) => p.stop()));
  });

  it('routes the IPv6 subnets over the same VTEPs and containers ping over both families', () => {
    expect(routesOf(hosts[0]!.netns, '-6')).toEqual(['fd00:244:0:2::/64 via fd00:244:0:2:: dev weft.77 onlink']);
    expect(neighboursOf(hosts[0]!.netns).sort()).toEqual(['10.244.2.0 02:77:00:00:00:02', 'fd00:244:0:2:: 02:77:00:00:00:02']);
    expect(pingOk(containers[0]!.netns, containers[1]!.address6!)).toBe(true);
    expect(pingOk(containers[1]!.netns, containers[0]!.address)).toBe(true);
  });

  it('changes nothing in the kernel at rest, for either family: no change notifications over several runs', async () => {
    const host = hosts[0]!.netns;
    const { stats } = paths[0]!;
    const deviceIndex = linkIndexIn(host, device);
    // Two witnesses of changes to what weft programs (not the kernel's own neighbour churn on the
    // containers' bridge): lib/netlink's notifications, and `ip monitor` reading the kernel independently.
    const seen: string[] = [];
    const ours = (c: KernelChange) => (c.kind === 'route' ? c.route.protocol === weftRouteProtocol
      : (c.kind === 'link' ? c.link.index : c.kind === 'address' ? c.address.link : c.kind === 'neighbour' ? c.neighbour.link : c.entry.link) === deviceIndex);
    const watch = KernelWatch.open(host.path, ['link', 'address', 'route', 'neighbour', 'fdb'], {
      onChanges: (changes) => seen.push(...changes.filter(ours).map((c) => `${c.removed ? '-' : '+'}${c.kind}`)),
      onLost: (reason) => seen.push(`lost: ${reason}`),
    });
    const monitor = spawn('ip', ['-n', host.name, 'monitor', 'link', 'address', 'route', 'neigh'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let monitored = '';
    monitor.stdout.on('data', (chunk: Buffer) => {
      monitored += chunk.toString().split('\n').filter((line) => line.includes(device) || line.includes(`proto ${weftRouteProtocol}`)).join('\n');
    });
    try {
      const [runs, changes] = [stats.runs, stats.changes];
      await eventually('five runs', () => stats.runs >= runs + 5);
      expect(paths[0]!.run()).toMatchObject({ device: 'kept', steps: [], failures: [] });
      expect(stats.changes).toBe(changes);
      expect(seen).toEqual([]);
      expect(monitored).toBe('');
    } finally {
      watch.close();
      monitor.kill();
    }
  });
});
