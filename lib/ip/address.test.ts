import { describe, expect, it } from 'vitest';
import { addToIp, compareIp, formatIp, ipFromBytes, ipToBytes, parseIp, tryParseIp } from './address.ts';

describe('parseIp / formatIp', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ])('%s formats as %s', (input, expected) => {
    expect(formatIp(parseIp(input))).toBe(expected);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-1', 'a.b.c.d', '1:2:3:4:5:6:7:8:9',
    '1::2::3', ':::', '12345::', 'g::1', '1:2:3:4:5:6:7', '::1.2.3', ' 1.2.3.4', '1.2.3.4/24'])(
    'refuses %j', (input) => {
      expect(tryParseIp(input)).toBeUndefined();
      expect(() => parseIp(input)).toThrow(TypeError);
    },
  );

  it('knows the family', () => {
    expect(parseIp('192.0.2.1').family).toBe(4);
    expect(parseIp('2001:db8::').family).toBe(6);
  });
});

describe('bytes', () => {
  it('round-trips IPv4 and IPv6', () => {
    for (const text of ['192.0.2.254', '2001:db8::abcd:1']) {
      const ip = parseIp(text);
      expect(formatIp(ipFromBytes(ipToBytes(ip)))).toBe(text);
    }
    expect([...ipToBytes(parseIp('1.2.3.4'))]).toEqual([1, 2, 3, 4]);
    expect(ipToBytes(parseIp('::1'))).toHaveLength(16);
  });
  it('refuses other lengths', () => {
    expect(() => ipFromBytes(new Uint8Array(5))).toThrow(TypeError);
  });
});

describe('arithmetic', () => {
  it('steps and stops at the edges of the space', () => {
    expect(formatIp(addToIp(parseIp('10.0.0.255'), 1n)!)).toBe('10.0.1.0');
    expect(formatIp(addToIp(parseIp('10.0.1.0'), -1n)!)).toBe('10.0.0.255');
    expect(addToIp(parseIp('255.255.255.255'), 1n)).toBeUndefined();
    expect(addToIp(parseIp('0.0.0.0'), -1n)).toBeUndefined();
    expect(formatIp(addToIp(parseIp('2001:db8::ffff'), 1n)!)).toBe('2001:db8::1:0');
  });
  it('orders IPv4 before IPv6, then by value', () => {
    const sorted = ['::1', '10.0.0.2', '10.0.0.1'].map(parseIp).sort(compareIp).map(formatIp);
    expect(sorted).toEqual(['10.0.0.1', '10.0.0.2', '::1']);
  });
});
