// weftd across three simulated hosts sharing a 3-member etcd cluster: the built daemon runs inside each
// host's namespace, etcd runs in a namespace of its own on the same underlay (three addresses, one per
// member). Containers behind a bridge on each host's subnet ping each other across VXLAN; the underlay
// capture shows the VNI; the probes tell broken paths apart; a restart keeps the subnet without losing a
// ping; a stopped node's lease expires and its peers forget it; losing an etcd member changes nothing.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatIp } from '../../lib/ip/address.ts';
import { weftRouteProtocol } from '../../daemon/datapath/plan.ts';
import { createTempDir } from './testing/files.ts';
import { createHost, type Underlay } from './testing/hosts.ts';
import type { Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { nftScript } from './testing/nat.ts';
import { addContainer, captureUnderlay, createOverlayHosts, eventually, pingOk, type Container, type OverlayHost } from './testing/overlay.ts';
import { EtcdCluster, metric, nodeFiles, startWeftd, weftdReady, type NetnsProcess } from './testing/overlay-processes.ts';

cleanupAfterAll();

const vni = 42;
const ttl = 4;
// Not the default probe port: the rule that breaks the local entry below drops this one.
const probePort = 4800;
const network = { network: '10.244.0.0/16', vni, ttl, probePort };

/** The subnet a node's daemon wrote to its subnet file, as the network CIDR ("10.244.7.0/24"). */
function subnetOf(root: string, node: string): string {
  const text = readFileSync(nodeFiles(root, node).subnetFile, 'utf8');
  const line = /^WEFT_SUBNET=(\d+\.\d+\.\d+)\.1\/24$/m.exec(text);
  if (!line) throw new Error(`no WEFT_SUBNET in ${text}`);
  return `${line[1]}.0/24`;
}

const routes = (ns: Netns) => ns.ipJson<Array<{ dst: string }>>('route', 'show', 'proto', String(weftRouteProtocol)).map((r) => r.dst);

describeAsRoot('weftd on three hosts with etcd', () => {
  let underlay: Underlay;
  let hosts: OverlayHost[];
  let etcd: EtcdCluster;
  let root: string;
  const daemons: NetnsProcess[] = [];
  const subnets: string[] = [];
  let containers: Container[];
  const node = (i: number) => `node-${i + 1}`;

  async function start(i: number): Promise<void> {
    const store = { type: 'etcd', endpoints: etcd.endpoints, prefix: '/weft/test' };
    daemons[i] = await startWeftd(hosts[i]!.netns, { nodeName: node(i), store, network, root });
    await weftdReady(hosts[i]!.netns, daemons[i]!);
  }

  beforeAll(async () => {
    ({ underlay, hosts } = createOverlayHosts(3));
    const etcdHost = createHost(underlay, '192.0.2.100/24', 'oe');
    etcdHost.netns.ip('addr', 'add', '192.0.2.101/24', 'dev', 'ul0');
    etcdHost.netns.ip('addr', 'add', '192.0.2.102/24', 'dev', 'ul0');
    etcd = await EtcdCluster.start(etcdHost.netns, ['192.0.2.100', '192.0.2.101', '192.0.2.102']);
    root = createTempDir('weftd');
    for (let i = 0; i < 3; i++) await start(i);
    for (let i = 0; i < 3; i++) subnets[i] = subnetOf(root, node(i));
    containers = hosts.map((h, i) => addContainer(h.netns, subnets[i]!, 1450));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
  });

  it('gives each node its own subnet and programs the other two', async () => {
    expect(new Set(subnets).size).toBe(3);
    for (let i = 0; i < 3; i++) {
      const others = subnets.filter((_, j) => j !== i).sort();
      await eventually(`routes on host ${i + 1}`, () => JSON.stringify(routes(hosts[i]!.netns).sort()) === JSON.stringify(others));
    }
  });

  it('carries pings between containers on all three hosts over VXLAN with the configured VNI', async () => {
    const capture = await captureUnderlay(underlay, 'udp port 4789');
    for (const [a, b] of [[0, 1], [0, 2], [1, 2], [2, 0]] as const) {
      expect(pingOk(containers[a]!.netns, containers[b]!.address), `container ${a + 1} → ${b + 1}`).toBe(true);
    }
    const frames = (await capture.stop()).filter((f) => f.vxlan?.inner.ip?.protocol === 1);
    expect(frames.length).toBeGreaterThanOrEqual(16);
    expect(new Set(frames.map((f) => f.vxlan!.vni))).toEqual(new Set([vni]));
    const pairs = new Set(frames.map((f) => `${formatIp(f.vxlan!.inner.ip!.src)}>${formatIp(f.vxlan!.inner.ip!.dst)}`));
    expect(pairs).toContain(`${containers[0]!.address}>${containers[2]!.address}`);
  });

  it('reports every peer healthy on every probe path', async () => {
    await eventually('probe verdicts', () => [0, 1, 2].every((i) => [0, 1, 2].filter((j) => j !== i)
      .every((j) => metric(hosts[i]!.netns, `weft_peer_path_verdict{peer="${node(j)}",verdict="healthy"}`) === 1)), 20_000, 500);
    expect(metric(hosts[0]!.netns, `weft_peer_probes_answered_total{peer="${node(1)}",path="vtep"}`)).toBeGreaterThan(0);
    expect(metric(hosts[0]!.netns, `weft_peer_probes_answered_total{peer="${node(1)}",path="underlay"}`)).toBeGreaterThan(0);
    // A healthy peer is probed on its kernel path alone: the others follow only when that fails.
    const sent = (path: string) => metric(hosts[0]!.netns, `weft_peer_probes_sent_total{peer="${node(1)}",path="${path}"}`) ?? 0;
    const kernel = sent('kernel');
    await eventually('a round', () => sent('kernel') > kernel, 20_000, 200);
    const [kernelThen, vtepThen] = [sent('kernel'), sent('vtep')];
    await eventually('two more rounds', () => sent('kernel') >= kernelThen + 2, 20_000, 200);
    expect(sent('vtep')).toBe(vtepThen);
  });

  it('tells a broken local entry, a broken VTEP and a broken underlay apart', async () => {
    const [h1, h2] = [hosts[0]!.netns, hosts[1]!.netns];
    const verdictFor = (expected: string) => eventually(`node-2 seen as ${expected}`, () =>
      metric(h1, `weft_peer_path_verdict{peer="${node(1)}",verdict="${expected}"}`) === 1, 20_000, 500);
    // Host 1 drops what it sends into the overlay to host 2's subnet: its own path to host 2 is broken.
    nftScript(h1, `add table inet wtest\nadd chain inet wtest out { type filter hook output priority 0; }\nadd rule inet wtest out ip daddr ${subnets[1]} udp dport ${probePort} drop\n`);
    await verdictFor('local-entry');
    nftScript(h1, 'delete table inet wtest\n');
    // Host 2 drops VXLAN: its VTEP is deaf, its underlay still answers.
    nftScript(h2, 'add table inet wtest\nadd chain inet wtest in { type filter hook input priority 0; }\nadd rule inet wtest in udp dport 4789 drop\n');
    await verdictFor('vtep');
    // Host 2 drops everything from host 1.
    nftScript(h2, 'add rule inet wtest in ip saddr 192.0.2.1 drop\n');
    await verdictFor('underlay');
    nftScript(h2, 'delete table inet wtest\n');
    await verdictFor('healthy');
  });

  it('keeps a restarted daemon\'s subnet, and the pings never stop', async () => {
    const [c1, c2] = [containers[0]!, containers[1]!];
    const ping = spawn('ip', ['netns', 'exec', c1.netns.name, 'ping', '-n', '-q', '-i', '0.05', '-c', '120', '-W', '1', c2.address]);
    let out = '';
    ping.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const finished = new Promise<number | null>((resolve) => ping.once('exit', resolve));
    expect(await daemons[1]!.stop()).toBe(0);
    await start(1);
    expect(subnetOf(root, node(1))).toBe(subnets[1]);
    expect(await finished, out).toBe(0);
    expect(out).toMatch(/120 packets transmitted, 120 received/);
  });

  it('goes on when an etcd member dies', async () => {
    await etcd.members[0]!.stop('SIGKILL');
    for (let i = 0; i < 3; i++) expect(pingOk(containers[i]!.netns, containers[(i + 1) % 3]!.address)).toBe(true);
    // Renewals keep landing on the surviving members.
    const renewals = metric(hosts[0]!.netns, 'weft_lease_renewals_total') ?? 0;
    await eventually('a renewal after the member died', () => (metric(hosts[0]!.netns, 'weft_lease_renewals_total') ?? 0) > renewals, 15_000, 250);
  });

  it('removes a stopped node from its peers once its lease expires, and takes it back when it returns', async () => {
    expect(await daemons[2]!.stop()).toBe(0);
    // A clean stop leaves the lease to its TTL: until it expires, the peers keep host 3.
    expect(routes(hosts[0]!.netns)).toContain(subnets[2]);
    await eventually('host 3 forgotten', () => !routes(hosts[0]!.netns).includes(subnets[2]!) && !routes(hosts[1]!.netns).includes(subnets[2]!), (ttl + 10) * 1000);
    expect(pingOk(containers[0]!.netns, containers[2]!.address, 1)).toBe(false);
    await start(2);
    expect(subnetOf(root, node(2))).toBe(subnets[2]);
    await eventually('host 3 back', () => pingOk(containers[0]!.netns, containers[2]!.address, 1), 10_000, 200);
    expect(pingOk(containers[2]!.netns, containers[1]!.address)).toBe(true);
  });
});
