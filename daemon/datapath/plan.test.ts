import { describe, expect, it } from 'vitest';
import { parseIp } from '../../lib/ip/address.ts';
import { formatCidr, parseCidr } from '../../lib/ip/cidr.ts';
import type { Address, FdbEntry, Link, Neighbour, Route } from '../../lib/netlink/index.ts';
import { parseNetworkConfig } from '../network-config.ts';
import { desiredDataPath, type DesiredDataPath } from './desired-state.ts';
import { describeStep, planDevice, planEntries, weftRouteProtocol, type ObservedEntries } from './plan.ts';

const links = { device: 20, underlay: 7 };

function desired(peers: number[], config: object = {}): DesiredDataPath {
  const lease = (n: number) => ({ nodeName: `node-${n}`, subnet: `10.244.${n}.0/24`, publicIp: `192.0.2.${n}`, vtepMac: `02:00:00:00:00:0${n}` });
  return desiredDataPath({
    config: parseNetworkConfig({ network: '10.244.0.0/16', vni: 42, ...config }),
    own: lease(1),
    leases: [lease(1), ...peers.map(lease)],
    underlay: { name: 'ul0', index: 7, mtu: 1500, address: parseIp('192.0.2.1'), addresses: [parseCidr('192.0.2.1/24')] },
  });
}

function vxlanLink(overrides: Partial<Record<string, unknown>> = {}): Link {
  return {
    kind: 'vxlan', index: 20, name: 'weft.42', mtu: 1450, mac: '02:00:00:00:00:01', up: true, lowerUp: true, promisc: false,
    operState: 'unknown', vni: 42, port: 4789, local: parseIp('192.0.2.1'), underlay: 7, learning: false, proxy: false,
    l2miss: false, l3miss: false, udpCsum: false, udp6ZeroCsumTx: false, udp6ZeroCsumRx: false, ttl: 0, tos: 0, ageing: 300, gbp: false,
    ...overrides,
  } as Link;
}

const address = (cidr: string): Address => ({
  link: 20, address: parseCidr(cidr), scope: 'universe', nodad: false, noPrefixRoute: false, permanent: true, secondary: false,
  tentative: false, dadFailed: false, deprecated: false,
});
const route = (dst: string, gw: string, link = 20, extra: Partial<Route> = {}): Route => ({
  dst: parseCidr(dst), gw: parseIp(gw), link, onlink: link === 20, table: 254, scope: 'universe', protocol: weftRouteProtocol, type: 'unicast', ...extra,
});
const neighbour = (ip: string, mac: string, state: Neighbour['state'] = 'permanent'): Neighbour => ({
  link: 20, ip: parseIp(ip), mac, state, router: false, externallyLearned: false,
});
const fdb = (mac: string, dst?: string, extra: Partial<FdbEntry> = {}): FdbEntry => ({
  link: 20, mac, ...(dst && { dst: parseIp(dst) }), self: true, master: false, state: 'permanent', externallyLearned: false, ...extra,
});

/** The kernel state that matches desired([2, 3]) exactly. */
function complete(): ObservedEntries {
  return {
    addresses: [address('10.244.1.0/32'), address('fe80::1/64')],
    routes: [route('10.244.2.0/24', '10.244.2.0'), route('10.244.3.0/24', '10.244.3.0')],
    neighbours: [neighbour('10.244.2.0', '02:00:00:00:00:02'), neighbour('10.244.3.0', '02:00:00:00:00:03')],
    fdb: [fdb('02:00:00:00:00:02', '192.0.2.2'), fdb('02:00:00:00:00:03', '192.0.2.3')],
  };
}

const plan = (d: DesiredDataPath, o: ObservedEntries) => planEntries(d, o, links).map(describeStep);

describe('planDevice', () => {
  const device = desired([]).device;

  it('creates a missing device, up, with learning off', () => {
    const p = planDevice(device, undefined);
    expect(p).toMatchObject({ action: 'create', spec: { kind: 'vxlan', name: 'weft.42', vni: 42, learning: false, up: true, mtu: 1450, underlay: 7 } });
  });

  it('keeps a matching device, adjusting MTU and state in place', () => {
    expect(planDevice(device, vxlanLink())).toEqual({ action: 'keep', index: 20 });
    expect(planDevice(device, vxlanLink({ mtu: 1500, up: false }))).toEqual({ action: 'keep', index: 20, change: { mtu: 1450, up: true } });
  });

  it.each([
    ['VNI 43, wanted 42', { vni: 43 }],
    ['port 8472, wanted 4789', { port: 8472 }],
    ['local 192.0.2.99, wanted 192.0.2.1', { local: parseIp('192.0.2.99') }],
    ['underlay #3, wanted #7', { underlay: 3 }],
    ['learning is on', { learning: true }],
    ['MAC 02:00:00:00:00:99, wanted 02:00:00:00:00:01', { mac: '02:00:00:00:00:99' }],
    ['weft.42 is a bridge, not VXLAN', { kind: 'bridge' }],
  ])('recreates a device when: %s', (reason, overrides) => {
    expect(planDevice(device, vxlanLink(overrides))).toMatchObject({ action: 'recreate', index: 20, reason });
  });
});

describe('planEntries', () => {
  it('adds everything to an empty device: forwarding, then neighbours, then routes', () => {
    expect(plan(desired([2, 3]), { addresses: [], routes: [], neighbours: [], fdb: [] })).toEqual([
      'addrAdd 10.244.1.0/32',
      'fdbSet 02:00:00:00:00:02 dst 192.0.2.2',
      'fdbSet 02:00:00:00:00:03 dst 192.0.2.3',
      'neighSet 10.244.2.0 lladdr 02:00:00:00:00:02',
      'neighSet 10.244.3.0 lladdr 02:00:00:00:00:03',
      'routeReplace 10.244.2.0/24 via 10.244.2.0',
      'routeReplace 10.244.3.0/24 via 10.244.3.0',
    ]);
  });

  it('changes nothing when the kernel already matches', () => {
    expect(plan(desired([2, 3]), complete())).toEqual([]);
  });

  it('removes a peer that left: its route first, then its neighbour and forwarding entry', () => {
    expect(plan(desired([2]), complete())).toEqual([
      'routeDel 10.244.3.0/24 via 10.244.3.0',
      'neighDel 10.244.3.0',
      'fdbDel 02:00:00:00:00:03 dst 192.0.2.3',
    ]);
  });

  it('follows a peer whose VTEP MAC and underlay address changed', () => {
    const d = desired([2, 3]);
    const moved = { ...d, neighbours: [d.neighbours[0]!, { ...d.neighbours[1]!, mac: '02:00:00:00:00:33' }], fdb: [d.fdb[0]!, { mac: '02:00:00:00:00:33', dst: parseIp('192.0.2.33') }] };
    expect(plan(moved, complete())).toEqual([
      'fdbDel 02:00:00:00:00:03 dst 192.0.2.3',
      'fdbSet 02:00:00:00:00:33 dst 192.0.2.33',
      'neighSet 10.244.3.0 lladdr 02:00:00:00:00:33',
    ]);
  });

  it('repairs entries that are wrong in place', () => {
    const o = complete();
    const broken: ObservedEntries = {
      ...o,
      routes: [route('10.244.2.0/24', '10.244.9.9'), o.routes[1]!],
      neighbours: [neighbour('10.244.2.0', '02:00:00:00:00:02', 'stale'), o.neighbours[1]!],
      fdb: [fdb('02:00:00:00:00:02', '192.0.2.99'), fdb('02:00:00:00:00:03', '192.0.2.3', { port: 8472 })],
    };
    expect(plan(desired([2, 3]), broken)).toEqual([
      'fdbSet 02:00:00:00:00:02 dst 192.0.2.2',
      'fdbSet 02:00:00:00:00:03 dst 192.0.2.3',
      'neighSet 10.244.2.0 lladdr 02:00:00:00:00:02',
      'routeReplace 10.244.2.0/24 via 10.244.2.0',
    ]);
  });

  it('deletes duplicates of its own routes under other metrics, keeps the correct one', () => {
    const o = complete();
    const extra = { ...o, routes: [route('10.244.2.0/24', '10.244.2.0', 20, { metric: 100 }), ...o.routes] };
    expect(plan(desired([2, 3]), extra)).toEqual(['routeDel 10.244.2.0/24 via 10.244.2.0']);
  });

  it('takes IPv6 routes at the kernel\'s default metric (1024) as correct, and replaces a wrong one in place', () => {
    const dualConfig = { ipv6Network: 'fd00:244::/48', ipv6SubnetLen: 64 };
    const lease = (n: number) => ({ nodeName: `node-${n}`, subnet: `10.244.${n}.0/24`, ipv6Subnet: `fd00:244:0:${n}::/64`, publicIp: `192.0.2.${n}`, vtepMac: `02:00:00:00:00:0${n}` });
    const d = desiredDataPath({
      config: parseNetworkConfig({ network: '10.244.0.0/16', vni: 42, ...dualConfig }),
      own: lease(1), leases: [lease(1), lease(2)],
      underlay: { name: 'ul0', index: 7, mtu: 1500, address: parseIp('192.0.2.1'), addresses: [parseCidr('192.0.2.1/24')] },
    });
    const atRest: ObservedEntries = {
      addresses: d.addresses.map((a) => address(formatCidr(a))),
      routes: [route('10.244.2.0/24', '10.244.2.0'), route('fd00:244:0:2::/64', 'fd00:244:0:2::', 20, { metric: 1024 })],
      neighbours: [neighbour('10.244.2.0', '02:00:00:00:00:02'), neighbour('fd00:244:0:2::', '02:00:00:00:00:02')],
      fdb: [fdb('02:00:00:00:00:02', '192.0.2.2')],
    };
    expect(plan(d, atRest)).toEqual([]);
    const wrongGateway = { ...atRest, routes: [atRest.routes[0]!, route('fd00:244:0:2::/64', 'fd00:244:0:9::', 20, { metric: 1024 })] };
    expect(plan(d, wrongGateway)).toEqual(['routeReplace fd00:244:0:2::/64 via fd00:244:0:2::']);
  });

  it('moves a peer between VXLAN and a direct route when directRouting changes', () => {
    expect(plan(desired([2, 3], { directRouting: true }), complete())).toEqual([
      'neighDel 10.244.2.0',
      'neighDel 10.244.3.0',
      'fdbDel 02:00:00:00:00:02 dst 192.0.2.2',
      'fdbDel 02:00:00:00:00:03 dst 192.0.2.3',
      'routeReplace 10.244.2.0/24 via 192.0.2.2',
      'routeReplace 10.244.3.0/24 via 192.0.2.3',
    ]);
    const direct = planEntries(desired([2], { directRouting: true }), { addresses: [], routes: [], neighbours: [], fdb: [] }, links);
    expect(direct.find((s) => s.op === 'routeReplace')?.spec).toMatchObject({ link: 7, protocol: weftRouteProtocol });
    expect(direct.find((s) => s.op === 'routeReplace')?.spec).not.toHaveProperty('onlink');
  });

  it('touches nothing that is not weft\'s', () => {
    const o = complete();
    const foreign: ObservedEntries = {
      ...o,
      neighbours: [...o.neighbours, neighbour('10.244.9.9', '02:00:00:00:00:99', 'reachable'), { ...neighbour('ff02::1', '33:33:00:00:00:01'), state: 'noarp' }],
      fdb: [...o.fdb, fdb('00:00:00:00:00:00', '192.0.2.77'), fdb('33:33:00:00:00:01'), fdb('02:00:00:00:00:77', '192.0.2.77', { self: false, master: true })],
    };
    expect(plan(desired([2, 3]), foreign)).toEqual([]);
  });

  it('replaces a stale device address and adds the IPv6 one without DAD', () => {
    const d = desired([], { ipv6Network: 'fd00:244::/48', ipv6SubnetLen: 64 });
    const dual = { ...d, addresses: [...d.addresses, parseCidr('fd00:244:0:1::/128')] };
    const steps = planEntries(dual, { addresses: [address('10.244.7.0/32'), address('fe80::1/64')], routes: [], neighbours: [], fdb: [] }, links);
    expect(steps.map(describeStep)).toEqual(['addrDel 10.244.7.0/32', 'addrAdd 10.244.1.0/32', 'addrAdd fd00:244:0:1::/128']);
    expect(steps[2]).toMatchObject({ op: 'addrAdd', spec: { nodad: true, link: 20 } });
  });
});
