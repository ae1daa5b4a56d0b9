import { describe, expect, it } from 'vitest';
import { parseIp } from '../ip/address.ts';
import { parseCidr } from '../ip/cidr.ts';
import { Attrs, splitMessages } from './codec.ts';
import type { Resolver } from './link.ts';
import { decodeRoute, routeRequest, type RouteSpec } from './route.ts';

const resolver: Resolver = { index: (ref) => (typeof ref === 'number' ? ref : 4), netnsFd: () => -1 };

function message(op: 'add' | 'replace' | 'delete', spec: RouteSpec) {
  return splitMessages(routeRequest(op, spec, resolver).message)[0]!;
}

describe('routeRequest', () => {
  it('gives IPv4 routes without a gateway link scope, as ip route does', () => {
    const m = message('add', { dst: parseCidr('10.1.0.0/16'), link: 'br0' });
    expect([m.body[0], m.body[1], m.body[4], m.body[5], m.body[6], m.body[7]]).toEqual([2, 16, 254, 3, 253, 1]);
    expect(message('add', { dst: parseCidr('10.1.0.0/16'), gw: parseIp('10.0.0.1') }).body[6]).toBe(0);
    expect(message('add', { dst: parseCidr('fd00::/64'), link: 2 }).body[6]).toBe(0);
  });

  it('clears host bits, omits RTA_DST for default routes and carries big table ids in RTA_TABLE', () => {
    const a = new Attrs(message('add', { dst: parseCidr('10.1.2.3/16'), link: 1 }).body, 12);
    expect([...a.bytes(1)!]).toEqual([10, 1, 0, 0]);
    const d = message('replace', { dst: parseCidr('::/0'), gw: parseIp('fe80::1'), link: 1, table: 1000 });
    expect(d.flags).toBe(0x1 | 0x400 | 0x100);
    expect(d.body[4]).toBe(0);
    const da = new Attrs(d.body, 12);
    expect(da.has(1)).toBe(false);
    expect(da.u32(15)).toBe(1000);
  });

  it('matches any scope, protocol and type when deleting', () => {
    const m = message('delete', { dst: parseCidr('10.1.0.0/16') });
    expect(m.type).toBe(25);
    expect([m.body[5], m.body[6], m.body[7]]).toEqual([0, 255, 0]);
  });

  it('refuses a gateway of the other family', () => {
    expect(() => routeRequest('add', { dst: parseCidr('10.0.0.0/8'), gw: parseIp('fe80::1') }, resolver)).toThrow(/not of the destination's family/);
  });

  it('round-trips through the decoder', () => {
    const spec: RouteSpec = { dst: parseCidr('10.2.0.0/16'), gw: parseIp('10.1.0.1'), link: 3, src: parseIp('10.1.0.9'), onlink: true, metric: 20, mtu: 1400, advmss: 1360, table: 300 };
    expect(decodeRoute(message('add', spec).body)).toEqual({
      dst: parseCidr('10.2.0.0/16'),
      gw: parseIp('10.1.0.1'),
      link: 3,
      src: parseIp('10.1.0.9'),
      onlink: true,
      metric: 20,
      table: 300,
      scope: 'universe',
      protocol: 3,
      type: 'unicast',
      mtu: 1400,
      advmss: 1360,
    });
    expect(routeRequest('add', spec, resolver).operation()).toBe('add route 10.2.0.0/16 via 10.1.0.1 dev #3 table 300 metric 20');
  });
});
