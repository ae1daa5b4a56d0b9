import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from './address.ts';
import {
  formatCidr, lastAddress, maskedNet, netContains, netSize, netsOverlap, networkAddress, parseCidr, prefixMask, tryParseCidr,
} from './cidr.ts';

describe('parseCidr', () => {
  it('keeps host bits as written and masks on request', () => {
    const net = parseCidr('10.1.2.3/16');
    expect(formatCidr(net)).toBe('10.1.2.3/16');
    expect(formatCidr(maskedNet(net))).toBe('10.1.0.0/16');
    expect(formatIp(networkAddress(net))).toBe('10.1.0.0');
    expect(formatIp(lastAddress(net))).toBe('10.1.255.255');
  });
  it('handles IPv6 and the edges of prefix length', () => {
    expect(formatIp(lastAddress(parseCidr('2001:db8::/64')))).toBe('2001:db8::ffff:ffff:ffff:ffff');
    expect(netSize(parseCidr('2001:db8::/120'))).toBe(256n);
    expect(netSize(parseCidr('0.0.0.0/0'))).toBe(1n << 32n);
    expect(netSize(parseCidr('10.0.0.1/32'))).toBe(1n);
    expect(prefixMask(4, 24)).toBe(0xffffff00n);
  });
  it.each(['10.0.0.0', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '10.0.0.0/08', '::/129', 'x/8', '10.0.0.0/24/1'])(
    'refuses %j', (input) => {
      expect(tryParseCidr(input)).toBeUndefined();
      expect(() => parseCidr(input)).toThrow(TypeError);
    },
  );
});

describe('containment and overlap', () => {
  it('contains by prefix, never across families', () => {
    const net = parseCidr('10.1.0.0/16');
    expect(netContains(net, parseIp('10.1.255.1'))).toBe(true);
    expect(netContains(net, parseIp('10.2.0.1'))).toBe(false);
    expect(netContains(parseCidr('::/0'), parseIp('10.1.0.1'))).toBe(false);
  });
  it('overlaps when either contains the other', () => {
    expect(netsOverlap(parseCidr('10.1.0.0/16'), parseCidr('10.1.7.0/24'))).toBe(true);
    expect(netsOverlap(parseCidr('10.1.7.0/24'), parseCidr('10.1.0.0/16'))).toBe(true);
    expect(netsOverlap(parseCidr('10.1.0.0/24'), parseCidr('10.1.1.0/24'))).toBe(false);
    expect(netsOverlap(parseCidr('fd00::/64'), parseCidr('fd00::1:0/112'))).toBe(true);
  });
});
