// Addresses and routes through lib/netlink, checked against `ip -j addr` and `ip -j route`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { formatCidr, parseCidr } from '../../lib/ip/cidr.ts';
import { Netlink, NetlinkError, ignoreNotFound, type Route } from '../../lib/netlink/index.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { failureOf } from './testing/netlink.ts';

cleanupAfterAll();

interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  label?: string;
  nodad?: boolean;
  noprefixroute?: boolean;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  prefsrc?: string;
  table?: string;
  flags: string[];
  metrics?: Array<Record<string, number>>;
}

describeAsRoot('netlink: addresses and routes', () => {
  let ns: Netns;
  let nl: Netlink;

  const witnessAddrs = (dev: string): IpAddrInfo[] =>
    ns.ipJson<Array<{ addr_info: IpAddrInfo[] }>>('addr', 'show', 'dev', dev)[0]!.addr_info.filter((a) => a.scope !== 'link' || a.family === 'inet');
  const witnessRoutes = (...args: string[]): IpRoute[] => ns.ipJson<IpRoute[]>('route', 'show', ...args);
  const names = (): Map<number, string> => new Map(nl.linkList().map((l) => [l.index, l.name]));
  // One line per route in ip's own words, to compare sets.
  const ours = (routes: Route[]): string[] => {
    const byIndex = names();
    return routes
      .map((r) => {
        const dst = r.dst.prefix === 0 ? 'default' : r.dst.prefix === (r.dst.address.family === 4 ? 32 : 128) ? formatIp(r.dst.address) : formatCidr(r.dst);
        return `${dst} via ${r.gw ? formatIp(r.gw) : '-'} dev ${r.link === undefined ? '-' : byIndex.get(r.link)} metric ${r.metric ?? 0}`;
      })
      .sort();
  };
  const theirs = (routes: IpRoute[]): string[] =>
    routes.map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'} metric ${r.metric ?? 0}`).sort();

  beforeAll(() => {
    ns = createNetns('ar');
    nl = Netlink.open(ns.path);
    nl.linkAdd({ kind: 'veth', name: 'a0', up: true, peer: { name: 'a0p' } });
    nl.linkSetUp('a0p');
    nl.linkSetUp('lo');
  });
  afterAll(() => nl?.close());

  it('adds IPv4 and IPv6 addresses with broadcast, scope, label, nodad and noprefixroute', () => {
    nl.addrAdd({ link: 'a0', address: parseCidr('10.1.0.1/24'), broadcast: 'auto' });
    nl.addrAdd({ link: 'a0', address: parseCidr('10.3.0.1/32'), scope: 'link', label: 'a0:x' });
    nl.addrAdd({ link: 'a0', address: parseCidr('fd00::1/64'), nodad: true });
    nl.addrAdd({ link: 'a0', address: parseCidr('fd01::1/64'), nodad: true, noPrefixRoute: true });
    const seen = witnessAddrs('a0');
    expect(seen).toEqual(expect.arrayContaining([
      expect.objectContaining({ family: 'inet', local: '10.1.0.1', prefixlen: 24, broadcast: '10.1.0.255', scope: 'global', label: 'a0' }),
      expect.objectContaining({ family: 'inet', local: '10.3.0.1', prefixlen: 32, scope: 'link', label: 'a0:x' }),
      expect.objectContaining({ family: 'inet6', local: 'fd00::1', prefixlen: 64, nodad: true }),
      expect.objectContaining({ family: 'inet6', local: 'fd01::1', prefixlen: 64, nodad: true, noprefixroute: true }),
    ]));
    expect(seen).toHaveLength(4);

    const read = nl.addrList({ link: 'a0' }).filter((a) => a.scope !== 'link' || a.address.address.family === 4);
    expect(read.map((a) => formatCidr(a.address)).sort()).toEqual(seen.map((a) => `${a.local}/${a.prefixlen}`).sort());
    expect(read.find((a) => formatCidr(a.address) === '10.1.0.1/24')).toMatchObject({ broadcast: parseIp('10.1.0.255'), scope: 'universe', label: 'a0', permanent: true });
    expect(read.find((a) => formatCidr(a.address) === '10.3.0.1/32')).toMatchObject({ scope: 'link', label: 'a0:x' });
    expect(read.find((a) => formatCidr(a.address) === 'fd01::1/64')).toMatchObject({ nodad: true, noPrefixRoute: true, tentative: false });
    expect(nl.addrList({ link: 'a0', family: 6 }).every((a) => a.address.address.family === 6)).toBe(true);
  });

  it('treats a second add as exists, replace as success, and deletes (then notFound)', () => {
    expect(failureOf(() => nl.addrAdd({ link: 'a0', address: parseCidr('10.1.0.1/24') })).kind).toBe('exists');
    nl.addrReplace({ link: 'a0', address: parseCidr('10.1.0.1/24'), broadcast: 'auto' });
    nl.addrDel({ link: 'a0', address: parseCidr('10.3.0.1/32') });
    expect(witnessAddrs('a0').map((a) => a.local)).not.toContain('10.3.0.1');
    expect(failureOf(() => nl.addrDel({ link: 'a0', address: parseCidr('10.3.0.1/32') })).kind).toBe('notFound');
  });

  it('adds routes: link scope, gateway with metric and metrics, onlink in another table, defaults, IPv6', () => {
    nl.routeAdd({ dst: parseCidr('10.4.0.0/16'), link: 'a0' });
    nl.routeAdd({ dst: parseCidr('10.2.0.0/16'), gw: parseIp('10.1.0.2'), link: 'a0', metric: 5, mtu: 1400, advmss: 1360 });
    nl.routeAdd({ dst: parseCidr('10.9.0.0/16'), gw: parseIp('10.99.0.1'), link: 'a0', onlink: true, table: 100 });
    nl.routeAdd({ dst: parseCidr('0.0.0.0/0'), gw: parseIp('10.1.0.254'), src: parseIp('10.1.0.1') });
    nl.routeAdd({ dst: parseCidr('::/0'), gw: parseIp('fd00::ff'), link: 'a0', metric: 10 });

    const main = witnessRoutes();
    expect(main).toEqual(expect.arrayContaining([
      expect.objectContaining({ dst: '10.4.0.0/16', dev: 'a0', scope: 'link' }),
      expect.objectContaining({ dst: '10.2.0.0/16', gateway: '10.1.0.2', metric: 5, metrics: [{ mtu: 1400, advmss: 1360 }] }),
      expect.objectContaining({ dst: 'default', gateway: '10.1.0.254', prefsrc: '10.1.0.1' }),
    ]));
    expect(witnessRoutes('table', '100')).toEqual([expect.objectContaining({ dst: '10.9.0.0/16', gateway: '10.99.0.1', flags: ['onlink'] })]);
    expect(ns.ipJson<IpRoute[]>('-6', 'route', 'show', 'default')).toEqual([expect.objectContaining({ gateway: 'fd00::ff', metric: 10 })]);

    expect(ours(nl.routeList({ family: 4 }))).toEqual(theirs(main));
    expect(ours(nl.routeList({ family: 6 }))).toEqual(theirs(ns.ipJson<IpRoute[]>('-6', 'route', 'show')));
    expect(ours(nl.routeList({ table: 100 }))).toEqual(theirs(witnessRoutes('table', '100')));
    const gw = nl.routeList({ family: 4 }).find((r) => r.dst.prefix === 16 && formatIp(r.dst.address) === '10.2.0.0');
    expect(gw).toMatchObject({ metric: 5, mtu: 1400, advmss: 1360, protocol: 3, scope: 'universe', type: 'unicast', table: 254 });
    expect(nl.routeList({ table: 100 })[0]).toMatchObject({ onlink: true, table: 100 });
    expect(nl.routeList({ family: 4 }).find((r) => r.dst.prefix === 0)).toMatchObject({ src: parseIp('10.1.0.1') });
    expect(nl.routeList({ table: 'all' }).some((r) => r.type === 'local')).toBe(true);
  });

  it('replaces a route, refuses a duplicate add and deletes (then notFound)', () => {
    expect(failureOf(() => nl.routeAdd({ dst: parseCidr('10.2.0.0/16'), gw: parseIp('10.1.0.2'), metric: 5 })).kind).toBe('exists');
    nl.routeReplace({ dst: parseCidr('10.2.0.0/16'), gw: parseIp('10.1.0.3'), metric: 5 });
    expect(witnessRoutes('10.2.0.0/16')).toEqual([expect.objectContaining({ gateway: '10.1.0.3', metric: 5 })]);
    nl.routeDel({ dst: parseCidr('10.2.0.0/16'), metric: 5 });
    expect(witnessRoutes('10.2.0.0/16')).toEqual([]);
    expect(failureOf(() => nl.routeDel({ dst: parseCidr('10.2.0.0/16') })).kind).toBe('notFound');
    expect(ignoreNotFound(() => nl.routeDel({ dst: parseCidr('10.2.0.0/16') }))).toBeUndefined();
    nl.routeDel({ dst: parseCidr('10.9.0.0/16'), table: 100 });
    expect(witnessRoutes('table', '100')).toEqual([]);
  });

  it('says why the kernel refused a route', () => {
    let err: unknown;
    try {
      nl.routeAdd({ dst: parseCidr('10.50.0.0/16'), gw: parseIp('10.200.0.1') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).message).toMatch(/^add route 10\.50\.0\.0\/16 via 10\.200\.0\.1 in \/run\/netns\/wtar\w+: /);
    expect((err as NetlinkError).extack).toMatch(/gateway|nexthop/i);
  });
});
