// Batches: thousands of changes on one socket without a round trip each, every one applied (checked
// with `ip -j route` and `bridge -j fdb`), and failures reported by position while the rest still apply.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addToIp, formatIp, parseIp } from '../../lib/ip/address.ts';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { Netlink, NetlinkBatchError, zeroMac } from '../../lib/netlink/index.ts';
import { runChecked } from './testing/command.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';

cleanupAfterAll();

/** 10.(100 + i / 256).(i % 256).0/24 */
function prefix(i: number): string {
  return `10.${100 + (i >> 8)}.${i & 0xff}.0/24`;
}

describeAsRoot('netlink: batches', () => {
  let ns: Netns;
  let nl: Netlink;

  beforeAll(() => {
    ns = createNetns('bt');
    nl = Netlink.open(ns.path);
    nl.linkAdd({ kind: 'veth', name: 'b0', up: true, peer: { name: 'b0p' } });
    nl.addrAdd({ link: 'b0', address: parseCidr('10.0.0.1/24') });
  });
  afterAll(() => nl?.close());

  it('installs and removes 5,000 routes in batches spanning several send windows', () => {
    const count = 5000;
    const link = nl.linkIndex('b0');
    const add = nl.batch();
    for (let i = 0; i < count; i++) add.routeAdd({ dst: parseCidr(prefix(i)), gw: parseIp('10.0.0.2'), link });
    expect(add.size).toBe(count);
    add.commit();
    expect(add.size).toBe(0);
    const seen = ns.ipJson<Array<{ dst: string; gateway?: string }>>('route', 'show', 'via', '10.0.0.2');
    expect(seen).toHaveLength(count);
    expect(new Set(seen.map((r) => r.dst))).toEqual(new Set(Array.from({ length: count }, (_, i) => prefix(i))));
    expect(nl.routeList({ family: 4, link: 'b0' }).filter((r) => r.gw)).toHaveLength(count);

    const del = nl.batch();
    for (let i = 0; i < count; i++) del.routeDel({ dst: parseCidr(prefix(i)) });
    del.commit();
    expect(ns.ipJson('route', 'show', 'via', '10.0.0.2')).toEqual([]);
  });

  it('applies the good requests of a batch and reports each failure by position with the kernel message', () => {
    nl.routeAdd({ dst: parseCidr('10.50.1.0/24'), link: 'b0' });
    const b = nl.batch();
    b.routeAdd({ dst: parseCidr('10.50.0.0/24'), link: 'b0' });
    b.routeAdd({ dst: parseCidr('10.50.1.0/24'), link: 'b0' }); // exists
    b.routeAdd({ dst: parseCidr('10.50.2.0/24'), link: 'b0' });
    b.routeAdd({ dst: parseCidr('10.50.3.0/24'), gw: parseIp('10.99.0.1') }); // no route to the gateway
    b.routeAdd({ dst: parseCidr('10.50.4.0/24'), link: 'b0' });
    let err: unknown;
    try {
      b.commit();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkBatchError);
    const failures = (err as NetlinkBatchError).failures;
    expect(failures.map((f) => [f.index, f.error.kind])).toEqual([[1, 'exists'], [3, 'invalid']]);
    expect(failures[0]!.error.message).toContain(`add route 10.50.1.0/24 dev b0 in ${ns.path}`);
    expect(failures[1]!.error.extack).toMatch(/gateway|nexthop/i);
    expect((err as NetlinkBatchError).message).toMatch(/^2 of 5 netlink requests failed: /);
    const seen = ns.ipJson<Array<{ dst: string }>>('route', 'show', 'dev', 'b0').map((r) => r.dst);
    expect(seen).toEqual(expect.arrayContaining(['10.50.0.0/24', '10.50.1.0/24', '10.50.2.0/24', '10.50.4.0/24']));
    expect(seen).not.toContain('10.50.3.0/24');
  });

  it('mixes kinds: links, addresses, neighbours and a VXLAN flood list in one batch', () => {
    nl.linkAdd({ kind: 'vxlan', name: 'vx0', vni: 9, port: 4789, learning: false });
    const b = nl.batch();
    for (let i = 0; i < 50; i++) b.linkAdd({ kind: 'veth', name: `m${i}`, peer: { name: `m${i}p` } });
    const vtep = parseIp('192.0.2.0');
    for (let i = 1; i <= 200; i++) b.fdbAppend({ link: 'vx0', mac: zeroMac, dst: addToIp(vtep, BigInt(i))! });
    b.neighSet({ link: 'vx0', ip: parseIp('10.9.0.5'), mac: '02:00:00:00:00:05' });
    b.addrAdd({ link: 'vx0', address: parseCidr('10.9.0.1/24') });
    b.commit();
    const links = ns.ipJson<Array<{ ifname: string }>>('link', 'show', 'type', 'veth').map((l) => l.ifname);
    expect(links.filter((n) => /^m\d+$/.test(n))).toHaveLength(50);
    const flood = JSON.parse(runChecked('bridge', ['-n', ns.name, '-j', 'fdb', 'show', 'dev', 'vx0'])) as Array<{ mac: string; dst?: string }>;
    expect(new Set(flood.filter((e) => e.mac === zeroMac).map((e) => e.dst))).toEqual(new Set(Array.from({ length: 200 }, (_, i) => formatIp(addToIp(vtep, BigInt(i + 1))!))));
    expect(ns.ipJson<Array<{ dst: string }>>('neigh', 'show', 'dev', 'vx0').map((n) => n.dst)).toContain('10.9.0.5');

    const del = nl.batch();
    for (let i = 0; i < 50; i++) del.linkDel(`m${i}`);
    del.commit();
    expect(ns.ipJson<Array<{ ifname: string }>>('link', 'show', 'type', 'veth').map((l) => l.ifname).filter((n) => /^m\d+$/.test(n))).toEqual([]);
  });

  it('sends nothing for an empty batch', () => {
    expect(() => nl.batch().commit()).not.toThrow();
  });
});
