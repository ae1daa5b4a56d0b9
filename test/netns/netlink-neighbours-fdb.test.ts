// Neighbours, forwarding-database entries and bridge VLANs through lib/netlink, checked against
// `ip -j neigh`, `bridge -j fdb` and `bridge -j vlan`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { Netlink, zeroMac } from '../../lib/netlink/index.ts';
import { run, runChecked } from './testing/command.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { failureOf } from './testing/netlink.ts';

cleanupAfterAll();

interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state: string[];
}
interface BridgeFdb {
  mac: string;
  dst?: string;
  port?: number;
  vni?: number;
  ifname?: string;
  master?: string;
  flags: string[];
  state: string;
}

describeAsRoot('netlink: neighbours, fdb and bridge VLANs', () => {
  let ns: Netns;
  let nl: Netlink;

  const bridgeJson = <T>(...args: string[]): T => JSON.parse(runChecked('bridge', ['-n', ns.name, '-j', ...args]) || '[]') as T;
  const fdbOf = (dev: string) => bridgeJson<BridgeFdb[]>('fdb', 'show', 'dev', dev).filter((e) => !e.mac.startsWith('33:33'));

  beforeAll(() => {
    ns = createNetns('nf');
    nl = Netlink.open(ns.path);
    nl.linkAdd({ kind: 'vxlan', name: 'vx0', vni: 5, port: 4789, learning: false, up: true });
  });
  afterAll(() => nl?.close());

  it('sets permanent IPv4 and IPv6 neighbours, replaces and deletes them', () => {
    nl.neighSet({ link: 'vx0', ip: parseIp('10.5.0.1'), mac: '02:00:00:00:00:05' });
    nl.neighSet({ link: 'vx0', ip: parseIp('fd00::5'), mac: '02:00:00:00:00:06' });
    const seen = ns.ipJson<IpNeigh[]>('neigh', 'show', 'dev', 'vx0', 'nud', 'all');
    expect(seen).toEqual(expect.arrayContaining([
      expect.objectContaining({ dst: '10.5.0.1', lladdr: '02:00:00:00:00:05', state: ['PERMANENT'] }),
      expect.objectContaining({ dst: 'fd00::5', lladdr: '02:00:00:00:00:06', state: ['PERMANENT'] }),
    ]));
    // The kernel adds multicast (noarp) entries of its own as it likes: compare the permanent ones.
    const read = nl.neighList({ link: 'vx0' }).filter((n) => n.state === 'permanent');
    const permanent = seen.filter((n) => n.state.includes('PERMANENT'));
    expect(read.map((n) => `${formatIp(n.ip)} ${n.mac}`).sort()).toEqual(permanent.map((n) => `${n.dst} ${n.lladdr}`).sort());
    expect(nl.neighList({ link: 'vx0', family: 6 }).filter((n) => n.state === 'permanent').map((n) => formatIp(n.ip))).toEqual(['fd00::5']);
    expect(nl.neighList({ link: 'vx0', family: 6 }).every((n) => n.ip.family === 6)).toBe(true);

    nl.neighSet({ link: 'vx0', ip: parseIp('10.5.0.1'), mac: '02:00:00:00:00:07' });
    expect(ns.ipJson<IpNeigh[]>('neigh', 'show', '10.5.0.1', 'dev', 'vx0')[0]?.lladdr).toBe('02:00:00:00:00:07');
    nl.neighDel({ link: 'vx0', ip: parseIp('10.5.0.1') });
    expect(ns.ipJson<IpNeigh[]>('neigh', 'show', '10.5.0.1', 'dev', 'vx0')).toEqual([]);
    expect(failureOf(() => nl.neighDel({ link: 'vx0', ip: parseIp('10.5.0.1') })).kind).toBe('notFound');
  });

  it('keeps a flood list of remote VTEPs on the all-zeros MAC and unicast entries with port and VNI', () => {
    nl.fdbAppend({ link: 'vx0', mac: zeroMac, dst: parseIp('192.0.2.2') });
    nl.fdbAppend({ link: 'vx0', mac: zeroMac, dst: parseIp('192.0.2.3') });
    nl.fdbSet({ link: 'vx0', mac: '02:00:00:00:00:05', dst: parseIp('192.0.2.4'), port: 4790, vni: 9 });
    const seen = fdbOf('vx0');
    expect(seen).toEqual(expect.arrayContaining([
      expect.objectContaining({ mac: zeroMac, dst: '192.0.2.2', flags: ['self'], state: 'permanent' }),
      expect.objectContaining({ mac: zeroMac, dst: '192.0.2.3', flags: ['self'], state: 'permanent' }),
      expect.objectContaining({ mac: '02:00:00:00:00:05', dst: '192.0.2.4', port: 4790, vni: 9, flags: ['self'] }),
    ]));
    expect(seen).toHaveLength(3);
    const read = nl.fdbList({ link: 'vx0' }).filter((e) => !e.mac.startsWith('33:33'));
    expect(read.map((e) => `${e.mac} ${e.dst ? formatIp(e.dst) : '-'} ${e.self} ${e.state}`).sort())
      .toEqual(seen.map((e) => `${e.mac} ${e.dst ?? '-'} true ${e.state}`).sort());
    expect(read.find((e) => e.mac === '02:00:00:00:00:05')).toMatchObject({ port: 4790, vni: 9 });

    // Replacing moves the MAC to another VTEP; deleting one remote keeps the other.
    nl.fdbSet({ link: 'vx0', mac: '02:00:00:00:00:05', dst: parseIp('192.0.2.5') });
    expect(fdbOf('vx0').filter((e) => e.mac === '02:00:00:00:00:05').map((e) => e.dst)).toEqual(['192.0.2.5']);
    nl.fdbDel({ link: 'vx0', mac: zeroMac, dst: parseIp('192.0.2.2') });
    expect(fdbOf('vx0').filter((e) => e.mac === zeroMac).map((e) => e.dst)).toEqual(['192.0.2.3']);
    nl.fdbAppend({ link: 'vx0', mac: zeroMac, dst: parseIp('192.0.2.3') }); // appending a known remote changes nothing
    expect(fdbOf('vx0').filter((e) => e.mac === zeroMac).map((e) => e.dst)).toEqual(['192.0.2.3']);
    nl.fdbDel({ link: 'vx0', mac: zeroMac });
    expect(fdbOf('vx0').filter((e) => e.mac === zeroMac)).toEqual([]);
    expect(failureOf(() => nl.fdbDel({ link: 'vx0', mac: zeroMac })).kind).toBe('notFound');
  });

  it('adds static entries to a bridge through its port (NTF_MASTER)', () => {
    nl.linkAdd({ kind: 'bridge', name: 'br0' });
    nl.linkAdd({ kind: 'veth', name: 'p0', master: 'br0', peer: { name: 'p0p' } });
    nl.fdbSet({ link: 'p0', mac: '02:00:00:00:00:08', master: true, state: 'noarp' });
    expect(bridgeJson<BridgeFdb[]>('fdb', 'show', 'br', 'br0')).toEqual(expect.arrayContaining([
      expect.objectContaining({ mac: '02:00:00:00:00:08', ifname: 'p0', master: 'br0', state: 'static' }),
    ]));
    const bridgeIndex = nl.linkByName('br0').index;
    expect(nl.fdbList({ link: 'p0' }).find((e) => e.mac === '02:00:00:00:00:08')).toMatchObject({ master: true, masterIndex: bridgeIndex, state: 'noarp' });
  });

  it('gives bridge ports VLANs (pvid/untagged, trunks), or says the kernel lacks VLAN filtering', () => {
    // The witness decides what this kernel can do; the layer must then succeed, or fail as `unsupported`.
    const probe = run('ip', ['-n', ns.name, 'link', 'add', 'probebr', 'type', 'bridge', 'vlan_filtering', '1']);
    if (probe.status !== 0) {
      expect(probe.stderr).toMatch(/not supported/i);
      const err = failureOf(() => nl.linkAdd({ kind: 'bridge', name: 'vbr0', vlanFiltering: true }));
      expect(err.kind).toBe('unsupported');
      return;
    }
    ns.ip('link', 'del', 'probebr');
    nl.linkAdd({ kind: 'bridge', name: 'vbr0', vlanFiltering: true, vlanDefaultPvid: 0 });
    nl.linkAdd({ kind: 'veth', name: 'vp0', master: 'vbr0', peer: { name: 'vp0p' } });
    nl.bridgeVlanAdd('vp0', { vid: 100, pvid: true, untagged: true });
    nl.bridgeVlanAdd('vp0', { vid: 200, vidEnd: 202 });
    nl.bridgeVlanAdd('vbr0', { vid: 100, self: true });
    const seen = bridgeJson<Array<{ ifname: string; vlans: Array<{ vlan: number; vlanEnd?: number; flags?: string[] }> }>>('vlan', 'show');
    const port = seen.find((p) => p.ifname === 'vp0')!;
    expect(port.vlans).toEqual(expect.arrayContaining([expect.objectContaining({ vlan: 100, flags: expect.arrayContaining(['PVID', 'Egress Untagged']) })]));
    const read = nl.bridgeVlanList({ link: 'vp0' });
    expect(read.map((v) => v.vid)).toEqual([100, 200, 201, 202]);
    expect(read[0]).toMatchObject({ pvid: true, untagged: true });
    expect(nl.bridgeVlanList({ link: 'vbr0' }).map((v) => v.vid)).toContain(100);
    nl.bridgeVlanDel('vp0', { vid: 200, vidEnd: 202 });
    expect(nl.bridgeVlanList({ link: 'vp0' }).map((v) => v.vid)).toEqual([100]);
  });
});
