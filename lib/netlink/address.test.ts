import { describe, expect, it } from 'vitest';
import { parseIp } from '../ip/address.ts';
import { parseCidr } from '../ip/cidr.ts';
import { addrRequest, decodeAddress } from './address.ts';
import { Attrs, splitMessages } from './codec.ts';
import type { Resolver } from './link.ts';

const resolver: Resolver = { index: () => 6, netnsFd: () => -1 };

describe('addrRequest', () => {
  it('sends the address as IFA_LOCAL and IFA_ADDRESS with a computed broadcast', () => {
    const m = splitMessages(addrRequest('add', { link: 'eth0', address: parseCidr('10.1.0.5/24'), broadcast: 'auto' }, resolver).message)[0]!;
    expect([m.body[0], m.body[1], m.body[3]]).toEqual([2, 24, 0]);
    const a = new Attrs(m.body, 8);
    expect([...a.bytes(2)!]).toEqual([10, 1, 0, 5]);
    expect([...a.bytes(1)!]).toEqual([10, 1, 0, 5]);
    expect([...a.bytes(4)!]).toEqual([10, 1, 0, 255]);
  });

  it('carries nodad and noprefixroute (which only fits IFA_FLAGS)', () => {
    const m = splitMessages(addrRequest('replace', { link: 1, address: parseCidr('fd00::5/64'), nodad: true, noPrefixRoute: true, scope: 'link' }, resolver).message)[0]!;
    expect(m.body[2]).toBe(0x02);
    expect(m.body[3]).toBe(253);
    expect(new Attrs(m.body, 8).u32(8)).toBe(0x202);
    expect(new Attrs(m.body, 8).has(4)).toBe(false); // no broadcast for IPv6
  });

  it('round-trips through the decoder', () => {
    const r = addrRequest('add', { link: 3, address: parseCidr('192.168.9.1/30'), broadcast: parseIp('192.168.9.3'), label: 'eth0:1' }, resolver);
    expect(r.operation()).toBe('add address 192.168.9.1/30 on link #3');
    expect(decodeAddress(splitMessages(r.message)[0]!.body)).toEqual({
      link: 6,
      address: parseCidr('192.168.9.1/30'),
      scope: 'universe',
      broadcast: parseIp('192.168.9.3'),
      label: 'eth0:1',
      nodad: false,
      noPrefixRoute: false,
      permanent: false,
      secondary: false,
      tentative: false,
      dadFailed: false,
      deprecated: false,
    });
  });
});
