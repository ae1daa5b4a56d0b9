// Links through lib/netlink, each read back by the layer and checked against `ip -j -d link`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseIp } from '../../lib/ip/address.ts';
import { Netlink, ignoreExists, ignoreNotFound } from '../../lib/netlink/index.ts';
import { run } from './testing/command.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { failureOf } from './testing/netlink.ts';

cleanupAfterAll();

/** The parts of `ip -j -d link show` these tests read. */
interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  ifalias?: string;
  txqlen?: number;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
}

function ipLink(ns: Netns, name: string): IpLink {
  const [link] = ns.ipJson<IpLink[]>('-d', 'link', 'show', 'dev', name);
  if (!link) throw new Error(`ip shows no link ${name} in ${ns.name}`);
  return link;
}

describeAsRoot('netlink: links', () => {
  let ns: Netns;
  let other: Netns;
  let nl: Netlink;

  beforeAll(() => {
    ns = createNetns('lk');
    other = createNetns('lko');
    nl = Netlink.open(ns.path);
  });
  afterAll(() => nl?.close());

  it('creates a veth pair with the peer placed and named directly in another namespace', () => {
    nl.linkAdd({ kind: 'veth', name: 'veth0', mtu: 1400, mac: '02:00:00:00:01:01', peer: { name: 'eth0', namespace: other.path, mac: '02:00:00:00:01:02' } });
    const host = ipLink(ns, 'veth0');
    const peer = ipLink(other, 'eth0');
    expect(host).toMatchObject({ mtu: 1400, address: '02:00:00:00:01:01', link_index: peer.ifindex, linkinfo: { info_kind: 'veth' } });
    expect(peer).toMatchObject({ mtu: 1400, address: '02:00:00:00:01:02', link_index: host.ifindex });
    expect(host.link_netnsid).toBeTypeOf('number');

    const read = nl.linkByName('veth0');
    expect(read).toMatchObject({ kind: 'veth', index: host.ifindex, name: 'veth0', mtu: 1400, mac: '02:00:00:00:01:01', parentIndex: peer.ifindex, up: false });
    expect(read.linkNetnsId).toBe(host.link_netnsid);
    const fromOther = Netlink.open(other.path);
    try {
      expect(fromOther.linkByName('eth0')).toMatchObject({ kind: 'veth', index: peer.ifindex, parentIndex: host.ifindex });
    } finally {
      fromOther.close();
    }
  });

  it('creates a bridge and makes a veth its port, with hairpin and isolation', () => {
    nl.linkAdd({ kind: 'bridge', name: 'br0', mtu: 1450, mac: '02:00:00:00:02:01', up: true, multicastSnooping: false });
    nl.linkAdd({ kind: 'veth', name: 'port0', mtu: 1450, master: 'br0', peer: { name: 'port0p' } });
    nl.linkSetBridgePort('port0', { hairpin: true, isolated: true, learning: false });
    const br = ipLink(ns, 'br0');
    expect(br).toMatchObject({ mtu: 1450, address: '02:00:00:00:02:01', linkinfo: { info_kind: 'bridge', info_data: { mcast_snooping: 0 } } });
    expect(br.flags).toContain('UP');
    expect(ipLink(ns, 'port0')).toMatchObject({
      master: 'br0',
      linkinfo: { info_slave_kind: 'bridge', info_slave_data: { hairpin: true, isolated: true, learning: false } },
    });
    expect(nl.linkByName('br0')).toMatchObject({ kind: 'bridge', up: true, mtu: 1450, multicastSnooping: false, vlanFiltering: false });
    expect(nl.linkByName('port0')).toMatchObject({ masterIndex: br.ifindex, bridgePort: { hairpin: true, isolated: true, learning: false } });

    nl.linkSetBridge('br0', { multicastSnooping: true, stp: true });
    expect(ipLink(ns, 'br0').linkinfo?.info_data).toMatchObject({ mcast_snooping: 1, stp_state: 1 });
    expect(nl.linkByName('br0')).toMatchObject({ multicastSnooping: true, stp: true });

    nl.linkSetBridgePort('port0', { hairpin: false });
    expect(ipLink(ns, 'port0').linkinfo?.info_slave_data).toMatchObject({ hairpin: false, isolated: true });
    nl.linkSetNoMaster('port0');
    expect(ipLink(ns, 'port0').master).toBeUndefined();
    nl.linkSetMaster('port0', 'br0');
    expect(ipLink(ns, 'port0').master).toBe('br0');
  });

  it('creates a VXLAN device with its tunnel options', () => {
    nl.linkAdd({ kind: 'veth', name: 'ul0', peer: { name: 'ul0p' } });
    nl.linkAdd({
      kind: 'vxlan', name: 'vx0', vni: 4242, local: parseIp('192.0.2.1'), underlay: 'ul0', port: 4789,
      srcPortRange: [30000, 40000], learning: false, ttl: 16, udpCsum: false, gbp: true, ageing: 120, mtu: 1450,
    });
    const vx = ipLink(ns, 'vx0');
    expect(vx).toMatchObject({
      mtu: 1450,
      linkinfo: {
        info_kind: 'vxlan',
        info_data: { id: 4242, local: '192.0.2.1', link: 'ul0', port: 4789, port_range: { low: 30000, high: 40000 }, learning: false, ttl: 16, udp_csum: false, gbp: true, ageing: 120 },
      },
    });
    const read = nl.linkByName('vx0');
    expect(read).toMatchObject({ kind: 'vxlan', vni: 4242, local: parseIp('192.0.2.1'), underlay: ipLink(ns, 'ul0').ifindex, port: 4789, srcPortRange: [30000, 40000], learning: false, ttl: 16, udpCsum: false, gbp: true, ageing: 120 });

    nl.linkAdd({ kind: 'vxlan', name: 'vx6', vni: 7, local: parseIp('fd00::1'), port: 8472, udp6ZeroCsumTx: true, udp6ZeroCsumRx: true });
    expect(ipLink(ns, 'vx6').linkinfo?.info_data).toMatchObject({ id: 7, local6: 'fd00::1', port: 8472, udp_zero_csum6_tx: true, udp_zero_csum6_rx: true });
    expect(nl.linkByName('vx6')).toMatchObject({ kind: 'vxlan', local: parseIp('fd00::1'), udp6ZeroCsumTx: true });
  });

  it('creates a VLAN device on the bridge (br0.100), or says the kernel lacks 802.1Q support', () => {
    // The witness decides what this kernel can do; the layer must then succeed, or fail as `unsupported`.
    const probe = run('ip', ['-n', ns.name, 'link', 'add', 'link', 'br0', 'name', 'probe.5', 'type', 'vlan', 'id', '5']);
    if (probe.status !== 0) {
      expect(probe.stderr).toMatch(/not supported|Unknown device type/i);
      const err = failureOf(() => nl.linkAdd({ kind: 'vlan', name: 'br0.100', parent: 'br0', vid: 100 }));
      expect(err.kind).toBe('unsupported');
      expect(err.message).toContain('add vlan link br0.100');
      return;
    }
    ns.ip('link', 'del', 'probe.5');
    nl.linkAdd({ kind: 'vlan', name: 'br0.100', parent: 'br0', vid: 100, up: true });
    expect(ipLink(ns, 'br0.100')).toMatchObject({ link: 'br0', linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 100 } } });
    expect(nl.linkByName('br0.100')).toMatchObject({ kind: 'vlan', vid: 100, protocol: '802.1Q', parentIndex: ipLink(ns, 'br0').ifindex });
  });

  it('changes state, MTU, MAC, promiscuity, alias and name', () => {
    nl.linkAdd({ kind: 'veth', name: 'chg0', peer: { name: 'chg0p' } });
    nl.linkSetUp('chg0');
    nl.linkSetMtu('chg0', 1300);
    nl.linkSetMac('chg0', '02:00:00:00:03:01');
    nl.linkSetPromisc('chg0', true);
    nl.linkSet('chg0', { alias: 'container side' });
    let seen = ipLink(ns, 'chg0');
    expect(seen).toMatchObject({ mtu: 1300, address: '02:00:00:00:03:01', ifalias: 'container side' });
    expect(seen.flags).toEqual(expect.arrayContaining(['UP', 'PROMISC']));
    expect(nl.linkByName('chg0')).toMatchObject({ up: true, promisc: true, mtu: 1300, mac: '02:00:00:00:03:01', alias: 'container side' });

    nl.linkSetDown('chg0');
    nl.linkSetPromisc('chg0', false);
    nl.linkSetName('chg0', 'renamed0');
    seen = ipLink(ns, 'renamed0');
    expect(seen.flags).not.toContain('UP');
    expect(seen.flags).not.toContain('PROMISC');
    expect(nl.linkByIndex(seen.ifindex)).toMatchObject({ name: 'renamed0', up: false, promisc: false });
  });

  it('moves a link into another namespace under a new name', () => {
    nl.linkAdd({ kind: 'veth', name: 'mv0', peer: { name: 'mv0p' } });
    nl.linkSetNamespace('mv0', other.path, 'moved0');
    expect(run('ip', ['-n', ns.name, 'link', 'show', 'mv0']).status).not.toBe(0);
    expect(ipLink(other, 'moved0').linkinfo?.info_kind).toBe('veth');
  });

  it('lists links as ip does', () => {
    const ours = nl.linkList().map((l) => [l.index, l.name, l.kind === 'device' ? (l.infoKind ?? 'device') : l.kind]);
    const theirs = ns.ipJson<IpLink[]>('-d', 'link', 'show').map((l) => [l.ifindex, l.ifname, l.linkinfo?.info_kind ?? 'device']);
    expect(ours).toEqual(theirs);
  });

  it('reports failures as typed errors naming the operation, the namespace and the kernel message', () => {
    const exists = failureOf(() => nl.linkAdd({ kind: 'bridge', name: 'br0' }));
    expect(exists).toMatchObject({ kind: 'exists', code: 'EEXIST' });
    expect(exists.message).toContain(`add bridge link br0 in ${ns.path}`);
    expect(ignoreExists(() => nl.linkAdd({ kind: 'bridge', name: 'br0' }))).toBeUndefined();

    const missing = failureOf(() => nl.linkByName('nosuch0'));
    expect(missing.kind).toBe('notFound');

    const tooBig = failureOf(() => nl.linkSetMtu('br0', 70000));
    expect(tooBig.kind).toBe('invalid');
    expect(tooBig.extack).toMatch(/mtu/i);
    expect(tooBig.message).toContain(tooBig.extack!);
  });

  it('deletes links; a second delete is notFound, which ignoreNotFound turns into success', () => {
    nl.linkAdd({ kind: 'veth', name: 'gone0', peer: { name: 'gone0p' } });
    nl.linkDel('gone0');
    expect(run('ip', ['-n', ns.name, 'link', 'show', 'gone0p']).status).not.toBe(0);
    expect(failureOf(() => nl.linkDel('gone0')).kind).toBe('notFound');
    expect(ignoreNotFound(() => nl.linkDel('gone0'))).toBeUndefined();
  });
});
