// A range set: the ranges one address per container is drawn from (one address family, no overlaps).
// A config holds a list of range sets; ADD takes one address from each (dual stack = two sets).
import type { IpAddress, IpFamily } from '../../lib/ip/address.ts';
import {
  canonicalizeRange, formatRange, InvalidRangeError, rangeCapacity, rangeContains, rangesOverlap,
  type IpRange, type RangeSpec,
} from './range.ts';

export type RangeSet = readonly IpRange[];

export function canonicalizeRangeSet(specs: readonly RangeSpec[]): RangeSet {
  if (specs.length === 0) throw new InvalidRangeError('empty range set');
  const set = specs.map(canonicalizeRange);
  if (set.some((range) => range.rangeStart.family !== set[0]!.rangeStart.family)) {
    throw new InvalidRangeError('mixed address families');
  }
  for (let i = 0; i < set.length; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(set[i]!, set[j]!)) {
        throw new InvalidRangeError(`subnets ${formatRange(set[i]!)} and ${formatRange(set[j]!)} overlap`);
      }
    }
  }
  return set;
}

export function rangeSetFamily(set: RangeSet): IpFamily {
  return set[0]!.rangeStart.family;
}

/** The range holding `ip`, if any. */
export function rangeFor(set: RangeSet, ip: IpAddress): IpRange | undefined {
  return set.find((range) => rangeContains(range, ip));
}

export function rangeSetContains(set: RangeSet, ip: IpAddress): boolean {
  return rangeFor(set, ip) !== undefined;
}

export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((ra) => b.some((rb) => rangesOverlap(ra, rb)));
}

export function rangeSetCapacity(set: RangeSet): bigint {
  return set.reduce((sum, range) => sum + rangeCapacity(range), 0n);
}

/** The reference's text for a range set: its ranges joined by ",". */
export function formatRangeSet(set: RangeSet): string {
  return set.map(formatRange).join(',');
}
