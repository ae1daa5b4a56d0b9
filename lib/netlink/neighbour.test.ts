import { describe, expect, it } from 'vitest';
import { parseIp } from '../ip/address.ts';
import { Attrs, readU16, splitMessages } from './codec.ts';
import { decodeFdb, fdbRequest } from './fdb.ts';
import type { Resolver } from './link.ts';
import { decodeNeighbour, neighDelRequest, neighSetRequest, stateName } from './neighbour.ts';
import { zeroMac } from './mac.ts';

const resolver: Resolver = { index: () => 9, netnsFd: () => -1 };

describe('neighbours', () => {
  it('sets a permanent entry by default, replacing any', () => {
    const m = splitMessages(neighSetRequest({ link: 'vx0', ip: parseIp('10.5.0.1'), mac: '02:00:00:00:00:01' }, resolver).message)[0]!;
    expect(m.flags).toBe(0x1 | 0x400 | 0x100);
    expect(readU16(m.body, 8)).toBe(0x80);
    expect(decodeNeighbour(m.body)).toEqual({ link: 9, ip: parseIp('10.5.0.1'), mac: '02:00:00:00:00:01', state: 'permanent', router: false, externallyLearned: false });
  });

  it('deletes by address', () => {
    const r = neighDelRequest({ link: 9, ip: parseIp('fd00::1') }, resolver);
    const m = splitMessages(r.message)[0]!;
    expect([m.type, m.body[0]]).toEqual([29, 10]);
    expect(r.operation()).toBe('delete neighbour fd00::1 on link #9');
  });

  it('names states by their bit', () => {
    expect(stateName(0x02)).toBe('reachable');
    expect(stateName(0x40)).toBe('noarp');
    expect(stateName(0)).toBe('none');
  });
});

describe('fdb', () => {
  it('appends a flood entry on the device itself (NTF_SELF) pointing at a remote VTEP', () => {
    const r = fdbRequest('append', { link: 'vx0', mac: zeroMac, dst: parseIp('192.0.2.7') }, resolver);
    const m = splitMessages(r.message)[0]!;
    expect(m.flags).toBe(0x1 | 0x400 | 0x800);
    expect([m.body[0], m.body[10]]).toEqual([7, 0x02]);
    expect(r.operation()).toBe('append fdb 00:00:00:00:00:00 dst 192.0.2.7 on link vx0');
    expect(decodeFdb(m.body)).toEqual({ link: 9, mac: zeroMac, dst: parseIp('192.0.2.7'), self: true, master: false, state: 'permanent', externallyLearned: false });
  });

  it('carries port (network order), VNI and VLAN, and NTF_MASTER when asked', () => {
    const m = splitMessages(fdbRequest('set', { link: 1, mac: '02:00:00:00:00:02', port: 4789, vni: 5, vlan: 10, master: true }, resolver).message)[0]!;
    const a = new Attrs(m.body, 12);
    expect(a.bytes(6)!.readUInt16BE(0)).toBe(4789);
    expect([a.u32(7), a.u16(5), m.body[10]]).toEqual([5, 10, 0x04]);
  });
});
