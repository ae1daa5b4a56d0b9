// Ranges written as text, for the unit tests.
import { parseIp } from '../../../lib/ip/address.ts';
import { parseCidr } from '../../../lib/ip/cidr.ts';
import type { RangeSpec } from '../range.ts';
import { canonicalizeRangeSet, type RangeSet } from '../range-set.ts';

export interface RangeText {
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export function rangeSpec(subnet: string, extra: RangeText = {}): RangeSpec {
  const ip = (text: string | undefined) => (text === undefined ? undefined : parseIp(text));
  return { subnet: parseCidr(subnet), rangeStart: ip(extra.rangeStart), rangeEnd: ip(extra.rangeEnd), gateway: ip(extra.gateway) };
}

/** A canonical range set from "subnet" or [subnet, extra] entries. */
export function rangeSetOf(...ranges: (string | [string, RangeText])[]): RangeSet {
  return canonicalizeRangeSet(ranges.map((entry) => (typeof entry === 'string' ? rangeSpec(entry) : rangeSpec(...entry))));
}
