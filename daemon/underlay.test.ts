import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../lib/ip/address.ts';
import { parseCidr } from '../lib/ip/cidr.ts';
import { chooseUnderlay, type UnderlayChoice, type UnderlayFacts } from './underlay.ts';

const link = (index: number, name: string, mtu = 1500, up = true) => ({ index, name, mtu, up });
const addr = (index: number, cidr: string, extra: { scope?: 'universe' | 'link' | 'host'; secondary?: boolean } = {}) =>
  ({ link: index, address: parseCidr(cidr), scope: extra.scope ?? 'universe', secondary: extra.secondary ?? false });
const route = (dst: string, index: number, extra: { src?: string; metric?: number; type?: 'unicast' | 'blackhole' } = {}) => ({
  dst: parseCidr(dst), link: index, type: extra.type ?? 'unicast' as const,
  ...(extra.src ? { src: parseIp(extra.src) } : {}), ...(extra.metric !== undefined ? { metric: extra.metric } : {}),
});

const host: UnderlayFacts = {
  links: [link(1, 'lo', 65536), link(2, 'eth0', 9000), link(3, 'eth1'), link(4, 'enp5s0'), link(5, 'enp6s0', 1500, false)],
  addresses: [
    addr(1, '127.0.0.1/8', { scope: 'host' }),
    addr(2, '10.0.0.5/24'), addr(2, '10.0.0.99/24', { secondary: true }), addr(2, 'fe80::1/64', { scope: 'link' }),
    addr(3, '192.168.7.2/24'), addr(3, '192.168.8.2/24'),
    addr(4, '2001:db8::5/64'),
  ],
  routes: [
    route('0.0.0.0/0', 2, { src: '10.0.0.5', metric: 100 }),
    route('10.0.0.0/24', 2, { src: '10.0.0.5' }),
    route('192.168.0.0/16', 3),
    route('192.168.9.0/24', 3, { metric: 10 }),
    route('192.168.9.0/24', 2, { metric: 5 }),
    route('172.16.0.0/12', 2, { type: 'blackhole' }),
  ],
};

function pick(choice: UnderlayChoice, facts = host, publicIp?: string) {
  const u = chooseUnderlay(choice, facts, publicIp ? parseIp(publicIp) : undefined);
  return { name: u.name, mtu: u.mtu, address: formatIp(u.address) };
}

describe('chooseUnderlay', () => {
  it('takes the default route\'s interface and source address', () => {
    expect(pick({ by: 'default-route' })).toEqual({ name: 'eth0', mtu: 9000, address: '10.0.0.5' });
  });

  it('takes a named interface and its one primary global address', () => {
    expect(pick({ by: 'name', name: 'eth0' })).toEqual({ name: 'eth0', mtu: 9000, address: '10.0.0.5' });
    expect(pick({ by: 'name', name: 'enp5s0' })).toEqual({ name: 'enp5s0', mtu: 1500, address: '2001:db8::5' });
  });

  it('takes the interface of the kernel’s own route to an address, and the source it would use', () => {
    // As a policy rule may choose it: eth1, though the main table's default leaves by eth0.
    expect(pick({ by: 'reach', address: parseIp('198.51.100.7') }, { ...host, reach: { link: 3, src: parseIp('192.168.8.2') } }))
      .toEqual({ name: 'eth1', mtu: 1500, address: '192.168.8.2' });
    // Without a source in the answer: the link's address in the target's subnet.
    expect(pick({ by: 'reach', address: parseIp('192.168.8.50') }, { ...host, reach: { link: 3 } }))
      .toEqual({ name: 'eth1', mtu: 1500, address: '192.168.8.2' });
  });

  it('takes the one interface that is up and matches a pattern', () => {
    expect(pick({ by: 'regex', pattern: /^enp/ })).toEqual({ name: 'enp5s0', mtu: 1500, address: '2001:db8::5' });
  });

  it('tells peers the public address when one is configured', () => {
    expect(pick({ by: 'name', name: 'eth1' }, host, '203.0.113.9')).toEqual({ name: 'eth1', mtu: 1500, address: '203.0.113.9' });
  });

  it.each<[string, UnderlayChoice, UnderlayFacts, RegExp]>([
    ['a missing interface', { by: 'name', name: 'eth9' }, host, /there is no interface eth9 \(interfaces: lo, eth0, eth1, enp5s0, enp6s0\)/],
    ['several addresses', { by: 'name', name: 'eth1' }, host, /eth1 has 2 IPv4 addresses \(192\.168\.7\.2\/24, 192\.168\.8\.2\/24\): set "underlay\.publicIp"/],
    ['no address', { by: 'name', name: 'enp6s0' }, host, /enp6s0 has no global address/],
    ['an off-link target with several addresses', { by: 'reach', address: parseIp('192.168.100.1') }, { ...host, reach: { link: 3 } }, /eth1 has 2 IPv4 addresses/],
    ['several pattern matches', { by: 'regex', pattern: /^eth/ }, host, /2 interfaces match \/\^eth\/ \(eth0, eth1\): name one/],
    ['no pattern match', { by: 'regex', pattern: /^wl/ }, host, /no interface that is up matches \/\^wl\//],
    ['no route', { by: 'reach', address: parseIp('2001:db8:1::1') }, { ...host, reach: null }, /no route reaches 2001:db8:1::1/],
    ['no default route', { by: 'default-route' }, { ...host, routes: host.routes.slice(1) }, /there is no default route/],
    ['two default routes', { by: 'default-route' }, { ...host, routes: [...host.routes, route('0.0.0.0/0', 3, { metric: 200 })] },
      /default routes leave by eth0 and eth1: name the underlay/],
  ])('refuses to guess: %s', (_name, choice, facts, message) => {
    expect(() => chooseUnderlay(choice, facts)).toThrow(message);
  });
});
