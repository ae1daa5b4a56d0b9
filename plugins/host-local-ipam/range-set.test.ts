import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { InvalidRangeError } from './range.ts';
import { rangeSpec as spec } from './testing/ranges.ts';
import {
  canonicalizeRangeSet, formatRangeSet, rangeFor, rangeSetCapacity, rangeSetContains, rangeSetFamily, rangeSetsOverlap,
} from './range-set.ts';

describe('canonicalizeRangeSet', () => {
  it('refuses an empty set, mixed families and overlapping ranges', () => {
    expect(() => canonicalizeRangeSet([])).toThrow(new InvalidRangeError('empty range set'));
    expect(() => canonicalizeRangeSet([spec('10.0.0.0/24'), spec('fd00::/64')])).toThrow(new InvalidRangeError('mixed address families'));
    expect(() => canonicalizeRangeSet([spec('10.0.0.0/24'), spec('10.0.0.0/16')]))
      .toThrow(new InvalidRangeError('subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.255.254 overlap'));
  });
  it('passes on the first bad range', () => {
    expect(() => canonicalizeRangeSet([spec('10.0.0.0/24'), spec('10.0.1.0/32')])).toThrow('too small');
  });
  it('accepts disjoint ranges of one subnet', () => {
    const set = canonicalizeRangeSet([spec('10.0.0.0/24', { rangeStart: '10.0.0.10', rangeEnd: '10.0.0.19' }), spec('10.0.0.0/24', { rangeStart: '10.0.0.30', rangeEnd: '10.0.0.39' })]);
    expect(formatRangeSet(set)).toBe('10.0.0.10-10.0.0.19,10.0.0.30-10.0.0.39');
    expect(rangeSetFamily(set)).toBe(4);
    expect(rangeSetCapacity(set)).toBe(20n);
    expect(rangeSetContains(set, parseIp('10.0.0.25'))).toBe(false);
    expect(formatIp(rangeFor(set, parseIp('10.0.0.35'))!.rangeStart)).toBe('10.0.0.30');
  });
});

describe('rangeSetsOverlap', () => {
  it('compares every range of one set with every range of the other', () => {
    const a = canonicalizeRangeSet([spec('10.0.0.0/24'), spec('10.0.2.0/24')]);
    const b = canonicalizeRangeSet([spec('10.0.1.0/24'), spec('10.0.2.0/25')]);
    const c = canonicalizeRangeSet([spec('10.0.1.0/24')]);
    expect(rangeSetsOverlap(a, b)).toBe(true);
    expect(rangeSetsOverlap(a, c)).toBe(false);
    expect(rangeSetsOverlap(a, canonicalizeRangeSet([spec('fd00::/64')]))).toBe(false);
  });
});
