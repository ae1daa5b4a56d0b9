import { describe, expect, it } from 'vitest';
import { CniError } from '../../lib/cni/errors.ts';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { formatCidr, parseCidr } from '../../lib/ip/cidr.ts';
import type { LeaseSpec } from '../lease/lease.ts';
import { parseNetworkConfig } from '../network-config.ts';
import { desiredDataPath, type DataPathInput, type DesiredDataPath, type UnderlayState } from './desired-state.ts';

const underlay: UnderlayState = {
  name: 'ul0', index: 7, mtu: 1500, address: parseIp('192.0.2.1'), addresses: [parseCidr('192.0.2.1/24')],
};

function lease(node: number, publicIp: string, extra: Partial<LeaseSpec> = {}): LeaseSpec {
  return { nodeName: `node-${node}`, subnet: `10.244.${node}.0/24`, publicIp, vtepMac: `02:00:00:00:00:0${node}`, ...extra };
}

const own = lease(1, '192.0.2.1');

function input(leases: LeaseSpec[], config: object = {}, u: UnderlayState = underlay, me: LeaseSpec = own): DataPathInput {
  return { config: parseNetworkConfig({ network: '10.244.0.0/16', vni: 42, ...config }), own: me, leases: [me, ...leases], underlay: u };
}

/** The desired state as `ip` would print it, for readable expectations. */
function asText(d: DesiredDataPath) {
  return {
    addresses: d.addresses.map(formatCidr),
    routes: d.routes.map((r) => `${formatCidr(r.dst)} via ${formatIp(r.gw)} dev ${r.via}${r.onlink ? ' onlink' : ''}`),
    neighbours: d.neighbours.map((n) => `${formatIp(n.ip)} lladdr ${n.mac}`),
    fdb: d.fdb.map((f) => `${f.mac} dst ${formatIp(f.dst)}`),
  };
}

describe('desiredDataPath', () => {
  it('gives the device, its /32 gateway and a route, neighbour and FDB entry per peer', () => {
    const d = desiredDataPath(input([lease(2, '192.0.2.2'), lease(3, '198.51.100.3')]));
    expect(d.device).toEqual({
      name: 'weft.42', vni: 42, port: 4789, local: parseIp('192.0.2.1'), underlayIndex: 7, mtu: 1450, mac: '02:00:00:00:00:01',
    });
    expect(asText(d)).toEqual({
      addresses: ['10.244.1.0/32'],
      routes: ['10.244.2.0/24 via 10.244.2.0 dev vxlan onlink', '10.244.3.0/24 via 10.244.3.0 dev vxlan onlink'],
      neighbours: ['10.244.2.0 lladdr 02:00:00:00:00:02', '10.244.3.0 lladdr 02:00:00:00:00:03'],
      fdb: ['02:00:00:00:00:02 dst 192.0.2.2', '02:00:00:00:00:03 dst 198.51.100.3'],
    });
    expect(d.peers.map((p) => [p.nodeName, p.gateways.map(formatIp), p.direct])).toEqual([
      ['node-2', ['10.244.2.0'], false],
      ['node-3', ['10.244.3.0'], false],
    ]);
    expect(d.networks.map(formatCidr)).toEqual(['10.244.0.0/16']);
    expect(d.skipped).toEqual([]);
  });

  it('uses the configured port and MTU', () => {
    const d = desiredDataPath(input([], { port: 8472, mtu: 1400 }));
    expect(d.device).toMatchObject({ port: 8472, mtu: 1400 });
    expect(() => desiredDataPath(input([], { mtu: 1480 }))).toThrow(CniError);
  });

  it('routes a peer on the same segment plainly with directRouting, and the others over VXLAN', () => {
    const d = desiredDataPath(input([lease(2, '192.0.2.2'), lease(3, '198.51.100.3')], { directRouting: true }));
    expect(asText(d)).toEqual({
      addresses: ['10.244.1.0/32'],
      routes: ['10.244.2.0/24 via 192.0.2.2 dev underlay', '10.244.3.0/24 via 10.244.3.0 dev vxlan onlink'],
      neighbours: ['10.244.3.0 lladdr 02:00:00:00:00:03'],
      fdb: ['02:00:00:00:00:03 dst 198.51.100.3'],
    });
    expect(d.peers.map((p) => p.direct)).toEqual([true, false]);
  });

  it('adds the IPv6 subnets of dual-stack peers over the same VTEP', () => {
    const config = { ipv6Network: 'fd00:244::/48', ipv6SubnetLen: 64 };
    const me = { ...own, ipv6Subnet: 'fd00:244:0:1::/64' };
    const d = desiredDataPath(input([lease(2, '192.0.2.2', { ipv6Subnet: 'fd00:244:0:2::/64' }), lease(3, '198.51.100.3')], config, underlay, me));
    expect(asText(d)).toEqual({
      addresses: ['10.244.1.0/32', 'fd00:244:0:1::/128'],
      routes: [
        '10.244.2.0/24 via 10.244.2.0 dev vxlan onlink',
        'fd00:244:0:2::/64 via fd00:244:0:2:: dev vxlan onlink',
        '10.244.3.0/24 via 10.244.3.0 dev vxlan onlink',
      ],
      neighbours: ['10.244.2.0 lladdr 02:00:00:00:00:02', 'fd00:244:0:2:: lladdr 02:00:00:00:00:02', '10.244.3.0 lladdr 02:00:00:00:00:03'],
      fdb: ['02:00:00:00:00:02 dst 192.0.2.2', '02:00:00:00:00:03 dst 198.51.100.3'],
    });
    expect(d.peers[0]!.gateways.map(formatIp)).toEqual(['10.244.2.0', 'fd00:244:0:2::']);
    expect(d.gateways.map(formatIp)).toEqual(['10.244.1.0', 'fd00:244:0:1::']);
    expect(d.networks.map(formatCidr)).toEqual(['10.244.0.0/16', 'fd00:244::/48']);
  });

  it('keeps VXLAN for the family directRouting cannot route over an IPv4 underlay', () => {
    const config = { ipv6Network: 'fd00:244::/48', ipv6SubnetLen: 64, directRouting: true };
    const me = { ...own, ipv6Subnet: 'fd00:244:0:1::/64' };
    const d = desiredDataPath(input([lease(2, '192.0.2.2', { ipv6Subnet: 'fd00:244:0:2::/64' })], config, underlay, me));
    expect(asText(d).routes).toEqual(['10.244.2.0/24 via 192.0.2.2 dev underlay', 'fd00:244:0:2::/64 via fd00:244:0:2:: dev vxlan onlink']);
    expect(asText(d).fdb).toEqual(['02:00:00:00:00:02 dst 192.0.2.2']);
  });

  it('sends VXLAN from the interface address when the announced one is a NAT address', () => {
    const natted = { ...underlay, address: parseIp('203.0.113.9') };
    expect(formatIp(desiredDataPath(input([], {}, natted, { ...own, publicIp: '203.0.113.9' })).device.local)).toBe('192.0.2.1');
    expect(() => desiredDataPath(input([], {}, { ...underlay, addresses: [] }))).toThrow(/no IPv4 address/);
  });

  it('leaves out leases it cannot program, saying why, and programs the rest', () => {
    const d = desiredDataPath(input([
      lease(2, ''),
      lease(3, '2001:db8::3'),
      lease(4, '192.0.2.1'),
      lease(5, '192.0.2.5', { vtepMac: own.vtepMac }),
      lease(6, '192.0.2.6'),
      lease(7, '192.0.2.7', { vtepMac: '02:00:00:00:00:06' }),
      lease(8, '192.0.2.6', { vtepMac: '02:00:00:00:00:88' }),
      { ...lease(9, '192.0.2.9'), subnet: '10.99.9.0/24' },
      { ...lease(10, '192.0.2.10'), subnet: '10.244.10.0/25' },
    ]));
    expect(d.skipped.map((s) => `${s.nodeName}: ${s.reason}`)).toEqual([
      'node-2: the lease has no underlay address or VTEP MAC yet (a reservation not taken up)',
      'node-3: underlay address 2001:db8::3 is not IPv4 like this node\'s',
      'node-4: it claims this node\'s underlay address 192.0.2.1',
      'node-5: it claims this node\'s VTEP MAC 02:00:00:00:00:01',
      'node-7: VTEP MAC 02:00:00:00:00:06 is already node node-6\'s',
      'node-8: underlay address 192.0.2.6 is already node node-6\'s',
      'node-9: subnet 10.99.9.0/24 is not a /24 of 10.244.0.0/16',
      'node-10: subnet 10.244.10.0/25 is not a /24 of 10.244.0.0/16',
    ]);
    expect(d.peers.map((p) => p.nodeName)).toEqual(['node-6']);
  });

  it('ignores the IPv6 subnet of a peer when this node has none', () => {
    const d = desiredDataPath(input([lease(2, '192.0.2.2', { ipv6Subnet: 'fd00:244:0:2::/64' })], { ipv6Network: 'fd00:244::/48', ipv6SubnetLen: 64 }));
    expect(asText(d).routes).toEqual(['10.244.2.0/24 via 10.244.2.0 dev vxlan onlink']);
  });
});
