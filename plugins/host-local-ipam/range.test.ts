import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import {
  addressInRange, canonicalizeRange, formatRange, InvalidRangeError, isReservedAddress, rangeCapacity, rangeContains,
  rangesOverlap,
} from './range.ts';
import { rangeSpec as spec } from './testing/ranges.ts';

function texts(range: ReturnType<typeof canonicalizeRange>) {
  return { start: formatIp(range.rangeStart), end: formatIp(range.rangeEnd), gateway: formatIp(range.gateway) };
}

describe('canonicalizeRange', () => {
  it('fills the reference defaults for IPv4: .1 to broadcast - 1, gateway .1', () => {
    expect(texts(canonicalizeRange(spec('10.1.2.0/24')))).toEqual({ start: '10.1.2.1', end: '10.1.2.254', gateway: '10.1.2.1' });
  });
  it('fills the reference defaults for IPv6: ::1 to the last address', () => {
    expect(texts(canonicalizeRange(spec('2001:db8::/64'))))
      .toEqual({ start: '2001:db8::1', end: '2001:db8::ffff:ffff:ffff:ffff', gateway: '2001:db8::1' });
    expect(texts(canonicalizeRange(spec('fd00::/120')))).toEqual({ start: 'fd00::1', end: 'fd00::ff', gateway: 'fd00::1' });
  });
  it('keeps what is given', () => {
    const range = canonicalizeRange(spec('10.0.0.0/16', { rangeStart: '10.0.5.0', rangeEnd: '10.0.5.99', gateway: '10.0.255.254' }));
    expect(texts(range)).toEqual({ start: '10.0.5.0', end: '10.0.5.99', gateway: '10.0.255.254' });
    expect(formatRange(range)).toBe('10.0.5.0-10.0.5.99');
  });
  it.each([
    ['10.0.0.0/31', {}, 'Network 10.0.0.0/31 too small to allocate from'],
    ['10.0.0.0/32', {}, 'Network 10.0.0.0/32 too small to allocate from'],
    ['fd00::/127', {}, 'Network fd00::/127 too small to allocate from'],
    ['10.0.0.5/24', {}, 'Network has host bits set. For a subnet mask of length 24 the network address is 10.0.0.0'],
    ['10.0.0.0/24', { rangeStart: '10.0.1.1' }, 'RangeStart 10.0.1.1 not in network 10.0.0.0/24'],
    ['10.0.0.0/24', { rangeEnd: 'fd00::1' }, 'RangeEnd fd00::1 not in network 10.0.0.0/24'],
    ['10.0.0.0/24', { rangeStart: '10.0.0.9', rangeEnd: '10.0.0.8' }, 'RangeStart 10.0.0.9 is after RangeEnd 10.0.0.8'],
    ['10.0.0.0/24', { gateway: 'fd00::1' }, 'gateway fd00::1 is not the same protocol as subnet 10.0.0.0/24'],
    ['10.99.2.0/24', { gateway: '10.99.3.1' }, 'Gateway 10.99.3.1 not in network 10.99.2.0/24'],
    ['fd00::/120', { gateway: 'fd00::1:1' }, 'Gateway fd00::1:1 not in network fd00::/120'],
  ])('refuses %s %j', (subnet, extra, message) => {
    expect(() => canonicalizeRange(spec(subnet, extra))).toThrow(new InvalidRangeError(message));
  });
  it("accepts the subnet's network and broadcast addresses as the gateway, as the reference does", () => {
    expect(texts(canonicalizeRange(spec('10.99.2.0/24', { gateway: '10.99.2.0' }))).gateway).toBe('10.99.2.0');
    expect(texts(canonicalizeRange(spec('10.99.2.0/24', { gateway: '10.99.2.255' }))).gateway).toBe('10.99.2.255');
    expect(texts(canonicalizeRange(spec('fd00::/120', { gateway: 'fd00::' }))).gateway).toBe('fd00::');
  });
  it('accepts the smallest usable subnets', () => {
    expect(texts(canonicalizeRange(spec('10.0.0.0/30')))).toEqual({ start: '10.0.0.1', end: '10.0.0.2', gateway: '10.0.0.1' });
    expect(texts(canonicalizeRange(spec('fd00::/126')))).toEqual({ start: 'fd00::1', end: 'fd00::3', gateway: 'fd00::1' });
  });
});

describe('range queries', () => {
  const range = canonicalizeRange(spec('10.0.0.0/24', { rangeStart: '10.0.0.0', rangeEnd: '10.0.0.255', gateway: '10.0.0.7' }));
  it('contains the span only, of its own family', () => {
    expect(rangeContains(range, parseIp('10.0.0.0'))).toBe(true);
    expect(rangeContains(range, parseIp('10.0.0.255'))).toBe(true);
    expect(rangeContains(range, parseIp('10.0.1.0'))).toBe(false);
    expect(rangeContains(range, parseIp('::a00:1'))).toBe(false);
    const narrow = canonicalizeRange(spec('10.0.0.0/24', { rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' }));
    expect(rangeContains(narrow, parseIp('10.0.0.9'))).toBe(false);
    expect(rangeContains(narrow, parseIp('10.0.0.21'))).toBe(false);
  });
  it('reserves gateway, network and IPv4 broadcast', () => {
    expect(['10.0.0.0', '10.0.0.7', '10.0.0.255'].map((ip) => isReservedAddress(range, parseIp(ip)))).toEqual([true, true, true]);
    expect(isReservedAddress(range, parseIp('10.0.0.1'))).toBe(false);
    const v6 = canonicalizeRange(spec('fd00::/120'));
    expect(isReservedAddress(v6, parseIp('fd00::ff'))).toBe(false);
    expect(isReservedAddress(v6, parseIp('fd00::'))).toBe(true);
  });
  it('counts what can be handed out', () => {
    expect(rangeCapacity(range)).toBe(253n);
    expect(rangeCapacity(canonicalizeRange(spec('10.0.0.0/24')))).toBe(253n);
    expect(rangeCapacity(canonicalizeRange(spec('fd00::/120')))).toBe(254n);
    expect(rangeCapacity(canonicalizeRange(spec('10.0.0.0/24', { rangeStart: '10.0.0.10', rangeEnd: '10.0.0.19' })))).toBe(10n);
    expect(rangeCapacity(canonicalizeRange(spec('2001:db8::/64')))).toBe((1n << 64n) - 2n);
  });
  it('detects overlap only within a family', () => {
    const a = canonicalizeRange(spec('10.0.0.0/24', { rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' }));
    const b = canonicalizeRange(spec('10.0.0.0/24', { rangeStart: '10.0.0.20', rangeEnd: '10.0.0.30' }));
    const c = canonicalizeRange(spec('10.0.0.0/24', { rangeStart: '10.0.0.21', rangeEnd: '10.0.0.30' }));
    const inner = canonicalizeRange(spec('10.0.0.0/24', { rangeStart: '10.0.0.12', rangeEnd: '10.0.0.13' }));
    expect(rangesOverlap(a, b)).toBe(true);
    expect(rangesOverlap(a, c)).toBe(false);
    expect(rangesOverlap(a, inner)).toBe(true);
    expect(rangesOverlap(inner, a)).toBe(true);
    expect(rangesOverlap(a, canonicalizeRange(spec('fd00::/120')))).toBe(false);
  });
  it('writes addresses with the subnet prefix', () => {
    expect(addressInRange(range, parseIp('10.0.0.9'))).toBe('10.0.0.9/24');
  });
});
