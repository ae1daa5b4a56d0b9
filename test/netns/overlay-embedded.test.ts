// weftd on a single simulated host with the embedded store (the default: a file in the state directory).
// The daemon makes the device with the node's address, writes the subnet file, installs the overlay
// firewall rules; a lease another writer puts in the store file is programmed, and removed when deleted; `weft node-status` in the host shows a peer with its probe verdict; a restart keeps the
// subnet while a container pings the node's overlay address throughout.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { weftRouteProtocol } from '../../daemon/datapath/plan.ts';
import { EmbeddedStore } from '../../daemon/lease/embedded-store.ts';
import type { NodeStatus } from '../../lib/weftd-api/node-status.ts';
import { distBin } from './testing/cni.ts';
import { cleanEnv, describeFailure, run } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { ruleset } from './testing/nat.ts';
import { addContainer, createOverlayHosts, eventually, pingOk, type Container, type OverlayHost } from './testing/overlay.ts';
import { metric, nodeFiles, startWeftd, weftdReady, type NetnsProcess } from './testing/overlay-processes.ts';

cleanupAfterAll();

const vni = 9;
const device = `weft.${vni}`;

describeAsRoot('weftd on one host with the embedded store', () => {
  let host: OverlayHost;
  let root: string;
  let daemon: NetnsProcess;
  let subnet: string;
  let gateway: string;
  let container: Container;
  let store: EmbeddedStore;
  const storePath = () => join(nodeFiles(root, 'solo').stateDir, 'leases.json');

  async function start(): Promise<void> {
    // An hour between full runs: whatever is repaired is repaired because the kernel said so. Probe
    // rounds every 2 s: a test below waits for one.
    const intervals = { reconcile: 3600, probe: 2 };
    daemon = await startWeftd(host.netns, { nodeName: 'solo', store: { type: 'embedded' }, network: { network: '10.244.0.0/16', vni }, root, intervals });
    await weftdReady(host.netns, daemon);
  }

  beforeAll(async () => {
    host = createOverlayHosts(1).hosts[0]!;
    root = createTempDir('weftd');
    await start();
    const env = readFileSync(nodeFiles(root, 'solo').subnetFile, 'utf8');
    const base = /^WEFT_SUBNET=(\d+\.\d+\.\d+)\.1\/24$/m.exec(env)![1]!;
    subnet = `${base}.0/24`;
    gateway = `${base}.0`;
    container = addContainer(host.netns, subnet, 1450);
    store = new EmbeddedStore({ path: storePath() });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await daemon?.stop();
  });

  it('makes the device with the node\'s address, and the overlay firewall rules', async () => {
    const [link] = host.netns.ipJson<Array<{ mtu: number; linkinfo: { info_data: { id: number; local: string } } }>>('-d', 'link', 'show', device);
    expect(link).toMatchObject({ mtu: 1450, linkinfo: { info_data: { id: vni, local: '192.0.2.1' } } });
    const addresses = host.netns.ipJson<Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>>('addr', 'show', device)[0]!.addr_info;
    expect(addresses.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).toEqual([`${gateway}/32`]);
    expect(pingOk(container.netns, gateway)).toBe(true);
    await eventually('overlay rules', () => ruleset(host.netns).chains.some((c) => c.table === 'weft' && c.name === 'overlay-postrouting'));
    expect(metric(host.netns, 'weft_datapath_peers{via="vxlan"}')).toBe(0);
  });

  it('programs a lease another writer adds to the store, and removes it when deleted', async () => {
    const peer = { nodeName: 'ghost', subnet: subnet === '10.244.200.0/24' ? '10.244.201.0/24' : '10.244.200.0/24', publicIp: '192.0.2.50', vtepMac: '02:00:00:00:00:50' };
    const created = await store.create(peer, 600);
    expect(created.created).toBe(true);
    const routes = () => host.netns.ipJson<Array<{ dst: string; gateway: string }>>('route', 'show', 'proto', String(weftRouteProtocol));
    await eventually('the new lease programmed', () => routes().some((r) => r.dst === peer.subnet));
    expect(routes()).toEqual([expect.objectContaining({ dst: peer.subnet, gateway: peer.subnet.replace('/24', '') })]);
    expect(host.netns.ipJson<Array<{ lladdr: string }>>('neigh', 'show', peer.subnet.replace('/24', ''), 'dev', device)[0]?.lladdr).toBe(peer.vtepMac);
    if (!created.created) return;
    expect(await store.delete(created.lease)).toBe(true);
    await eventually('the deleted lease removed', () => routes().length === 0);
    expect(host.netns.ipJson('neigh', 'show', 'dev', device, 'nud', 'permanent')).toEqual([]);
  });

  it('puts back a device deleted behind its back as soon as the kernel says so, address and all', async () => {
    const creations = metric(host.netns, 'weft_vxlan_device_creations_total')!;
    const kernelRuns = metric(host.netns, 'weft_reconcile_kernel_runs_total')!;
    host.netns.ip('link', 'del', device);
    const deviceAddresses = () => host.netns.ipJson<Array<{ ifname: string; addr_info: Array<{ local: string }> }>>('addr', 'show')
      .filter((l) => l.ifname === device).flatMap((l) => l.addr_info.map((a) => a.local));
    await eventually('the device back', () => deviceAddresses().includes(gateway));
    expect(metric(host.netns, 'weft_vxlan_device_creations_total')).toBe(creations + 1);
    expect(metric(host.netns, 'weft_reconcile_kernel_runs_total')).toBeGreaterThan(kernelRuns);
    expect(pingOk(container.netns, gateway)).toBe(true);
  });

  it('`weft node-status` in the host names the node, its lease, and a peer with its probe verdict', async () => {
    // A peer with no daemon behind it: nothing answers its probes, so its verdict becomes "underlay".
    const peer = { nodeName: 'ghost2', subnet: subnet === '10.244.202.0/24' ? '10.244.203.0/24' : '10.244.202.0/24', publicIp: '192.0.2.51', vtepMac: '02:00:00:00:00:51' };
    const created = await store.create(peer, 600);
    if (!created.created) throw new Error('the peer lease was not created');
    const nodeStatus = (...args: string[]) => {
      const result = run('ip', ['netns', 'exec', host.netns.name, distBin('weft'), 'node-status', ...args], { env: cleanEnv() });
      if (result.status !== 0) throw new Error(describeFailure(result));
      return result.stdout;
    };
    try {
      let out = '';
      const peerLine = () => out.split('\n').find((l) => l.startsWith('ghost2 '));
      // The first probe round after the peer appears decides its verdict.
      await eventually('the peer probed', () => {
        out = nodeStatus();
        return / underlay /.test(peerLine() ?? '');
      }, 20_000, 500);
      expect(out).toMatch(/^node {7}solo: ready \(ready: /);
      expect(out).toContain(`lease      ${subnet}, public IP 192.0.2.1, VTEP MAC `);
      expect(peerLine()).toMatch(new RegExp(`^ghost2 +${peer.subnet} +192\\.0\\.2\\.51 +in \\d+m \\d+s +vxlan +underlay +no answer +no answer +no answer$`));
      expect(out).toContain('ghost2: underlay since ');
      const json = JSON.parse(nodeStatus('--json', '--url', 'http://127.0.0.1:9475')) as NodeStatus;
      expect(json).toMatchObject({ node: 'solo', ready: true, lease: { subnet, publicIp: '192.0.2.1' }, reconcile: { ok: true } });
      expect(json.peers).toEqual([expect.objectContaining({ nodeName: 'ghost2', via: 'vxlan', probe: expect.objectContaining({ verdict: 'underlay' }) })]);
    } finally {
      await store.delete(created.lease);
    }
    await eventually('the peer gone from node-status', () => !nodeStatus().includes('ghost2'), 5000, 100);
  });

  it('keeps its subnet across a restart while a container pings the node without a loss', async () => {
    const ping = spawn('ip', ['netns', 'exec', container.netns.name, 'ping', '-n', '-q', '-i', '0.05', '-c', '80', '-W', '1', gateway]);
    let out = '';
    ping.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const finished = new Promise<number | null>((resolve) => ping.once('exit', resolve));
    // SIGHUP (the terminal it ran in went away) stops it cleanly, as SIGTERM does.
    expect(await daemon.stop('SIGHUP')).toBe(0);
    // Stopped: the device and its address stay.
    expect(host.netns.ipJson('link', 'show', device)).toHaveLength(1);
    await start();
    expect(readFileSync(nodeFiles(root, 'solo').subnetFile, 'utf8')).toContain(`WEFT_SUBNET=${gateway.replace(/\.0$/, '.1')}/24`);
    expect(await finished, out).toBe(0);
    expect(out).toMatch(/80 packets transmitted, 80 received/);
    expect(metric(host.netns, 'weft_vxlan_device_creations_total')).toBe(0);
  });
});
