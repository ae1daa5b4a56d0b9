import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import type { NodeHealthView } from '../health/node-health.ts';
import { containerLabel, recordTtl, Zone, type ZoneOptions } from './zone.ts';

const options: ZoneOptions = { domain: 'weft.internal', networks: [parseCidr('10.244.0.0/16'), parseCidr('fd00:10:244::/56')] };
const everyNode: Pick<NodeHealthView, 'isServing'> = { isServing: () => true };
const web1 = endpoint('web', 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2', 'node-1', '10.244.1.2', 8080, {
  addresses: ['10.244.1.2', 'fd00:10:244:1::2'], ports: [{ name: 'http', port: 8080, protocol: 'tcp' }, { name: '', port: 9090, protocol: 'tcp' }],
});
const web2 = endpoint('web', 'ffee00112233', 'node-2', '10.244.2.3', 8080, { ports: [{ name: 'http', port: 8080, protocol: 'tcp' }] });
const db = endpoint('db.shop', 'dbdbdbdbdbdb', 'node-3', '10.244.3.4', 5432, { ports: [{ name: 'Postgres', port: 5432, protocol: 'tcp' }] });
const zone = (endpoints = [web1, web2, db], health = everyNode) => new Zone(options, 7, endpoints, health);
const data = (name: string, type: string, z = zone()) => z.answer(name, type)!.answers.map((a) => (a as { data: unknown }).data);

describe('Zone', () => {
  it('answers a service with every endpoint address of its family, with a short TTL', () => {
    expect(data('web.weft.internal', 'A').sort()).toEqual(['10.244.1.2', '10.244.2.3']);
    expect(data('web.weft.internal', 'AAAA')).toEqual(['fd00:10:244:1::2']);
    expect(zone().answer('web.weft.internal', 'A')).toMatchObject({ rcode: 'NOERROR', authorities: [] });
    expect(zone().answer('web.weft.internal', 'A')!.answers.every((a) => (a as { ttl: number }).ttl === recordTtl)).toBe(true);
  });

  it('rotates a service\'s addresses from one answer to the next', () => {
    const z = zone();
    const firsts = new Set([0, 1, 2, 3].map(() => data('web.weft.internal', 'A', z)[0]));
    expect(firsts).toEqual(new Set(['10.244.1.2', '10.244.2.3']));
  });

  it('names each container by its ID (a digest by its short form) below its service, and answers PTR with that name', () => {
    expect(containerLabel('A1B2C3D4E5F6A7B8')).toBe('a1b2c3d4e5f6a7b8');
    expect(containerLabel('default_web.1')).toBe('default-web-1');
    expect(containerLabel('F'.repeat(64))).toBe('ffffffffffff');
    expect(containerLabel('_')).toBe('c');
    expect(data('a1b2c3d4e5f6.web.weft.internal', 'A')).toEqual(['10.244.1.2']);
    expect(data('2.1.244.10.in-addr.arpa', 'PTR')).toEqual(['a1b2c3d4e5f6.web.weft.internal']);
    const v6 = '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa';
    expect(data(v6, 'PTR')).toEqual(['a1b2c3d4e5f6.web.weft.internal']);
  });

  it('answers SRV per named port in the Kubernetes form, with the targets\' addresses as additionals', () => {
    const answer = zone().answer('_http._tcp.web.weft.internal', 'SRV')!;
    expect(answer.answers.map((a) => (a as { data: unknown }).data)).toEqual(expect.arrayContaining([
      { priority: 0, weight: 1, port: 8080, target: 'a1b2c3d4e5f6.web.weft.internal' },
      { priority: 0, weight: 1, port: 8080, target: 'ffee00112233.web.weft.internal' },
    ]));
    expect(answer.additionals.map((a) => `${a.name} ${a.type}`).sort()).toEqual([
      'a1b2c3d4e5f6.web.weft.internal A', 'a1b2c3d4e5f6.web.weft.internal AAAA', 'ffee00112233.web.weft.internal A',
    ]);
    expect(data('_postgres._tcp.db.shop.weft.internal', 'SRV')).toEqual([{ priority: 0, weight: 1, port: 5432, target: 'dbdbdbdbdbdb.db.shop.weft.internal' }]);
  });

  it('tells a missing name (NXDOMAIN) from a name without that type (NODATA), each with the SOA', () => {
    const missing = zone().answer('nope.weft.internal', 'A')!;
    expect(missing).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
    expect(missing.authorities).toEqual([expect.objectContaining({ name: 'weft.internal', type: 'SOA', data: expect.objectContaining({ serial: 7, minimum: recordTtl }) })]);
    expect(zone().answer('web.weft.internal', 'TXT')).toMatchObject({ rcode: 'NOERROR', answers: [], authorities: [expect.objectContaining({ type: 'SOA' })] });
    expect(zone().answer('db.shop.weft.internal', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    // Names that only have names below them exist (RFC 8020): "shop" holds db.shop, _tcp holds the SRV.
    expect(zone().answer('shop.weft.internal', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(zone().answer('_tcp.web.weft.internal', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(zone().answer('9.9.244.10.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'NXDOMAIN', authorities: [expect.objectContaining({ name: '244.10.in-addr.arpa' })] });
  });

  it('answers SOA at the apex and leaves other names to the forwarder', () => {
    expect(zone().answer('weft.internal', 'SOA')!.answers).toEqual([expect.objectContaining({ type: 'SOA', name: 'weft.internal' })]);
    expect(zone().answer('weft.internal', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(zone().answer('example.com', 'A')).toBeUndefined();
    expect(zone().answer('1.0.168.192.in-addr.arpa', 'PTR')).toBeUndefined();
    expect(zone().answer('internal', 'SOA')).toBeUndefined();
  });

  it('leaves out endpoints that receive no traffic and those whose node is down', () => {
    const draining = { ...web2, health: 'draining' as const };
    expect(data('web.weft.internal', 'A', zone([web1, draining]))).toEqual(['10.244.1.2']);
    const nodeTwoDown = { isServing: (node: string) => node !== 'node-2' };
    expect(data('web.weft.internal', 'A', zone([web1, web2], nodeTwoDown))).toEqual(['10.244.1.2']);
    expect(zone([web1, web2], nodeTwoDown).answer('ffee00112233.web.weft.internal', 'A')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(zone([web1, web2], nodeTwoDown).answer('3.2.244.10.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'NXDOMAIN' });
  });

  it('names a container of no service directly below the domain', () => {
    const { service: _, ...plain } = endpoint('none', 'cafe0123', 'node-2', '10.244.2.9');
    const z = zone([web1, plain]);
    expect(data('cafe0123.weft.internal', 'A', z)).toEqual(['10.244.2.9']);
    expect(data('9.2.244.10.in-addr.arpa', 'PTR', z)).toEqual(['cafe0123.weft.internal']);
  });

  it('answers ANY with every record of the name', () => {
    expect(zone().answer('a1b2c3d4e5f6.web.weft.internal', 'ANY')!.answers.map((a) => a.type)).toEqual(['A', 'AAAA']);
  });
});
