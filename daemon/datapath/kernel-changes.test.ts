import { describe, expect, it } from 'vitest';
import { parseIp } from '../../lib/ip/address.ts';
import { parseCidr } from '../../lib/ip/cidr.ts';
import type { KernelChange } from '../../lib/netlink/index.ts';
import { parseNetworkConfig } from '../network-config.ts';
import { desiredDataPath } from './desired-state.ts';
import { concernsDataPath, type WatchedState } from './kernel-changes.ts';

const underlayIndex = 2;
const deviceIndex = 9;
const desired = desiredDataPath({
  config: parseNetworkConfig({ network: '10.244.0.0/16', vni: 42 }),
  own: { nodeName: 'a', subnet: '10.244.1.0/24', publicIp: '192.0.2.1', vtepMac: '02:00:00:00:00:01' },
  leases: [
    { nodeName: 'a', subnet: '10.244.1.0/24', publicIp: '192.0.2.1', vtepMac: '02:00:00:00:00:01' },
    { nodeName: 'b', subnet: '10.244.2.0/24', publicIp: '192.0.2.2', vtepMac: '02:00:00:00:00:02' },
  ],
  underlay: { name: 'ul0', index: underlayIndex, mtu: 1500, address: parseIp('192.0.2.1'), addresses: [parseCidr('192.0.2.1/24')] },
});
const state: WatchedState = { desired, deviceName: 'weft.42', deviceIndex, underlayIndex, underlayMtu: 1500 };

const link = (index: number, name: string, removed = false, mtu = 1500): KernelChange => ({
  kind: 'link', removed, link: { kind: 'device', index, name, mtu, up: true, lowerUp: true, promisc: false, operState: 'up' },
});
const device = (operState: 'up' | 'unknown', mtu = 1450): KernelChange => ({
  kind: 'link', removed: false,
  link: {
    kind: 'vxlan', index: deviceIndex, name: 'weft.42', mtu, up: true, lowerUp: true, promisc: false, operState, vni: 42, port: 4789,
    local: parseIp('192.0.2.1'), underlay: underlayIndex, learning: false, mac: '02:00:00:00:00:01',
  } as never,
});
const neighbour = (index: number, ip: string, removed = true): KernelChange => ({
  kind: 'neighbour', removed, neighbour: { link: index, ip: parseIp(ip), mac: '02:00:00:00:00:02', state: 'permanent', router: false, externallyLearned: false },
});
const fdb = (index: number, mac: string): KernelChange => ({
  kind: 'fdb', removed: true, entry: { link: index, mac, dst: parseIp('192.0.2.2'), self: true, master: false, state: 'permanent', externallyLearned: false },
});
const route = (protocol: number): KernelChange => ({
  kind: 'route', removed: true, route: { dst: parseCidr('10.244.2.0/24'), table: 254, scope: 'universe', protocol, type: 'unicast', onlink: true },
});
const address = (index: number, removed = true, cidr = '10.244.1.0/32', scope: 'universe' | 'link' = 'universe'): KernelChange => ({
  kind: 'address', removed,
  address: { link: index, address: parseCidr(cidr), scope, nodad: false, noPrefixRoute: false, permanent: true, secondary: false, tentative: false, dadFailed: false, deprecated: false },
});

describe('concernsDataPath', () => {
  it.each<[string, KernelChange]>([
    ['the device removed', link(deviceIndex, 'weft.42', true)],
    ['a device of its name made by someone else', link(33, 'weft.42')],
    ['the underlay\'s MTU changed', link(underlayIndex, 'ul0', false, 9000)],
    ['the underlay removed', link(underlayIndex, 'ul0', true)],
    ['the device\'s MTU changed', device('up', 1400)],
    ['an address added to the device that is not its own', address(deviceIndex, false, '10.244.9.0/32')],
    ['an address of the device', address(deviceIndex)],
    ['an address of the underlay', address(underlayIndex)],
    ['a route of weft\'s protocol', route(87)],
    ['a peer\'s neighbour entry', neighbour(deviceIndex, '10.244.2.0')],
    ['a peer\'s FDB entry, whatever the MAC\'s case', fdb(deviceIndex, '02:00:00:00:00:02'.toUpperCase())],
  ])('answers %s', (_name, change) => {
    expect(concernsDataPath(change, state)).toBe(true);
  });

  it.each<[string, KernelChange]>([
    ['another link', link(40, 'veth1234abcd')],
    ['an address elsewhere', address(40)],
    ['a route of another protocol (a container\'s, the kernel\'s)', route(2)],
    ['a neighbour entry the data path does not own', neighbour(deviceIndex, '10.244.1.7', false)],
    ['a neighbour on another link', neighbour(40, '10.244.2.0')],
    ['an FDB entry the data path does not own', fdb(deviceIndex, '02:00:00:00:00:77')],
    ['the device\'s operational state announced (as it is a second after it is made)', device('unknown')],
    ['the underlay\'s state announced, its MTU the same', link(underlayIndex, 'ul0')],
    ['the device\'s own address added (by the run itself)', address(deviceIndex, false)],
    ['an IPv6 link-local address of the device', address(deviceIndex, false, 'fe80::1/64')],
    ['a link-scope address of the underlay', address(underlayIndex, false, 'fe80::1/64', 'link')],
  ])('ignores %s', (_name, change) => {
    expect(concernsDataPath(change, state)).toBe(false);
  });

  it('before its first run, answers anything on the device', () => {
    const first: WatchedState = { ...state, desired: undefined };
    expect(concernsDataPath(neighbour(deviceIndex, '10.244.1.7'), first)).toBe(true);
    expect(concernsDataPath(fdb(deviceIndex, '02:00:00:00:00:77'), first)).toBe(true);
  });
});
