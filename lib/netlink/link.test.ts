import { describe, expect, it } from 'vitest';
import { parseIp } from '../ip/address.ts';
import { Attrs, readI32, readU16, readU32, splitMessages } from './codec.ts';
import { checkLinkName, decodeLink, linkAddRequest, linkDelRequest, linkSetBridgePortRequest, linkSetRequest, type LinkSpec, type Resolver } from './link.ts';

// Names resolve to fixed indexes; namespace paths to fake descriptors.
const resolver: Resolver = {
  index: (ref) => (typeof ref === 'number' ? ref : ({ br0: 7, eth0: 2, ul0: 3 } as Record<string, number>)[ref] ?? 99),
  netnsFd: (path) => (path === '/run/netns/c1' ? 41 : 42),
};

function body(spec: LinkSpec): Buffer {
  return splitMessages(linkAddRequest(spec, resolver).message)[0]!.body;
}

describe('linkAddRequest', () => {
  it('creates exclusively, with the new link up when asked', () => {
    const m = splitMessages(linkAddRequest({ kind: 'bridge', name: 'br0', up: true }, resolver).message)[0]!;
    expect(m.type).toBe(16);
    expect(m.flags).toBe(0x1 | 0x400 | 0x200);
    expect(readU32(m.body, 8)).toBe(1); // ifi_flags IFF_UP
    expect(readU32(m.body, 12)).toBe(1); // ifi_change
  });

  it('puts a veth peer, with its own name and namespace, inside IFLA_INFO_DATA', () => {
    const b = body({ kind: 'veth', name: 'veth1', mtu: 1400, master: 'br0', peer: { name: 'eth0', namespace: '/run/netns/c1' } });
    const a = new Attrs(b, 16);
    expect(a.string(3)).toBe('veth1');
    expect(a.u32(4)).toBe(1400);
    expect(a.u32(10)).toBe(7); // IFLA_MASTER
    const info = a.nested(18)!;
    expect(info.string(1)).toBe('veth');
    const peer = info.nested(2)!.bytes(1)!; // VETH_INFO_PEER: ifinfomsg, then attributes
    const peerAttrs = new Attrs(peer, 16);
    expect(peerAttrs.string(3)).toBe('eth0');
    expect(peerAttrs.u32(28)).toBe(41); // IFLA_NET_NS_FD
    expect(peerAttrs.u32(4)).toBe(1400); // the peer inherits the MTU
  });

  it('names the operation with the peer', () => {
    expect(linkAddRequest({ kind: 'veth', name: 'v1', peer: { name: 'eth0', namespace: '/run/netns/c1' } }, resolver).operation())
      .toBe('add veth link v1 peer eth0 in /run/netns/c1');
  });

  it('encodes VXLAN options, ports in network order', () => {
    const b = body({ kind: 'vxlan', name: 'vx0', vni: 42, local: parseIp('10.0.0.1'), underlay: 'ul0', port: 4789, learning: false, ttl: 64, gbp: true, udpCsum: true });
    const data = new Attrs(b, 16).nested(18)!.nested(2)!;
    expect(data.u32(1)).toBe(42);
    expect([...data.bytes(4)!]).toEqual([10, 0, 0, 1]);
    expect(data.u32(3)).toBe(3);
    expect(data.bytes(15)!.readUInt16BE(0)).toBe(4789);
    expect(data.u8(7)).toBe(0);
    expect(data.u8(5)).toBe(64);
    expect(data.u8(18)).toBe(1);
    expect(data.has(23)).toBe(true);
    expect(data.has(11)).toBe(false); // unsaid options are left to the kernel
  });

  it('encodes a VLAN on its parent with the 802.1ad ethertype when asked', () => {
    const b = body({ kind: 'vlan', name: 'br0.100', parent: 'br0', vid: 100, protocol: '802.1ad' });
    const a = new Attrs(b, 16);
    expect(a.u32(5)).toBe(7); // IFLA_LINK
    const data = a.nested(18)!.nested(2)!;
    expect(data.u16(1)).toBe(100);
    expect(data.be16(5)).toBe(0x88a8);
  });

  it('refuses bad names and out-of-range numbers before anything is sent', () => {
    expect(() => body({ kind: 'bridge', name: 'a-name-of-16char' })).toThrow(TypeError);
    expect(() => body({ kind: 'vlan', name: 'v', parent: 1, vid: 4095 })).toThrow(RangeError);
    expect(() => body({ kind: 'vxlan', name: 'v', vni: 1 << 24 })).toThrow(RangeError);
    expect(checkLinkName('br0.100')).toBe('br0.100');
    for (const bad of ['', '.', '..', 'a/b', 'a:b', 'a b']) expect(() => checkLinkName(bad)).toThrow(TypeError);
  });
});

describe('decodeLink', () => {
  it('reads back what a request describes (same message layout as the kernel\'s replies)', () => {
    const link = decodeLink(body({ kind: 'vxlan', name: 'vx0', vni: 7, mtu: 1450, mac: '02:00:00:00:00:01', group: parseIp('ff02::5'), port: 8472, srcPortRange: [1000, 2000], learning: true }));
    expect(link).toMatchObject({ kind: 'vxlan', name: 'vx0', mtu: 1450, mac: '02:00:00:00:00:01', vni: 7, port: 8472, srcPortRange: [1000, 2000], learning: true, gbp: false });
    expect(link.kind === 'vxlan' && link.group).toEqual(parseIp('ff02::5'));
    const vlan = decodeLink(body({ kind: 'vlan', name: 'br0.5', parent: 'br0', vid: 5 }));
    expect(vlan).toMatchObject({ kind: 'vlan', vid: 5, protocol: '802.1Q', parentIndex: 7 });
    const bridge = decodeLink(body({ kind: 'bridge', name: 'b', vlanFiltering: true, vlanDefaultPvid: 0 }));
    expect(bridge).toMatchObject({ kind: 'bridge', vlanFiltering: true, vlanDefaultPvid: 0, stp: false });
  });
});

describe('link changes', () => {
  it('addresses a link by name without a lookup, and toggles only the flags it changes', () => {
    const m = splitMessages(linkSetRequest('eth0', { up: false, promisc: true }, resolver).message)[0]!;
    expect(m.type).toBe(19);
    expect(readI32(m.body, 4)).toBe(0);
    expect(readU32(m.body, 8)).toBe(0x100);
    expect(readU32(m.body, 12)).toBe(0x101);
    expect(new Attrs(m.body, 16).string(3)).toBe('eth0');
  });

  it('renames by index (the new name travels in IFLA_IFNAME) and moves namespaces by descriptor', () => {
    const r = linkSetRequest('eth0', { name: 'eth1', namespace: '/run/netns/other' }, resolver);
    const m = splitMessages(r.message)[0]!;
    expect(readI32(m.body, 4)).toBe(2);
    const a = new Attrs(m.body, 16);
    expect(a.string(3)).toBe('eth1');
    expect(a.u32(28)).toBe(42);
    expect(r.operation()).toBe('set link eth0 netns /run/netns/other name eth1');
  });

  it('releases from a master with index 0', () => {
    const m = splitMessages(linkSetRequest(5, { master: null }, resolver).message)[0]!;
    expect(new Attrs(m.body, 16).u32(10)).toBe(0);
  });

  it('sends bridge port options as nested IFLA_PROTINFO to AF_BRIDGE', () => {
    const r = linkSetBridgePortRequest('eth0', { hairpin: true, isolated: false, cost: 10 }, resolver);
    const m = splitMessages(r.message)[0]!;
    expect(m.body[0]).toBe(7);
    expect(readI32(m.body, 4)).toBe(2);
    expect(readU16(m.body, 18) & 0x8000).toBe(0x8000);
    const port = new Attrs(m.body, 16).nested(12)!;
    expect([port.u8(4), port.u8(33), port.u32(3)]).toEqual([1, 0, 10]);
    expect(r.operation()).toBe('set bridge port link eth0 hairpin on isolated off cost 10');
  });

  it('deletes by name', () => {
    const r = linkDelRequest('veth9');
    expect(r.operation()).toBe('delete link veth9');
    expect(new Attrs(splitMessages(r.message)[0]!.body, 16).string(3)).toBe('veth9');
  });
});
