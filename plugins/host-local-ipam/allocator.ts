// Choosing addresses: one per range set, round robin from the address after the last one reserved, so a
// container that crash-loops sees a given address again only after the whole set has gone round.
// The caller holds the store's lock for the whole call; on any failure the call's reservations are undone.
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { formatIp, ipEquals, type IpAddress } from '../../lib/ip/address.ts';
import { isReservedAddress, rangeContains, type IpRange } from './range.ts';
import { formatRangeSet, rangeFor, rangeSetCapacity, rangeSetContains, type RangeSet } from './range-set.ts';
import type { Owner, Store } from './store.ts';

export interface Allocation {
  ip: IpAddress;
  /** The range it came from: its subnet's prefix and gateway go into the result. */
  range: IpRange;
}

/**
 * Every allocatable address of the set once, in round-robin order: from the address after `last` when
 * the set holds it, else from the first range's start; wrapping from a range's end to the next range's
 * start and from the last range to the first. Reserved addresses (gateway, network, broadcast) are skipped.
 */
export function* roundRobin(set: RangeSet, last?: IpAddress): Generator<Allocation> {
  let index = last ? set.findIndex((range) => rangeContains(range, last)) : -1;
  let value: bigint;
  if (index < 0) {
    index = 0;
    value = set[0]!.rangeStart.value;
  } else {
    [index, value] = step(set, index, last!.value);
  }
  const family = set[0]!.rangeStart.family;
  const startIndex = index;
  const startValue = value;
  do {
    const range = set[index]!;
    const ip: IpAddress = { family, value };
    if (!isReservedAddress(range, ip)) yield { ip, range };
    [index, value] = step(set, index, value);
  } while (index !== startIndex || value !== startValue);
}

function step(set: RangeSet, index: number, value: bigint): [number, bigint] {
  if (value < set[index]!.rangeEnd.value) return [index, value + 1n];
  const next = (index + 1) % set.length;
  return [next, set[next]!.rangeStart.value];
}

function failure(code: number, rangeSetIndex: number, detail: string): CniError {
  return new CniError(code, `failed to allocate for range ${rangeSetIndex}: ${detail}`);
}

/**
 * Pairs requested addresses with range sets (the first one each set contains). Throws code 101, before
 * anything is reserved, when a requested address falls in no range set.
 */
export function assignRequested(rangeSets: readonly RangeSet[], requested: readonly IpAddress[]): (IpAddress | undefined)[] {
  const pending = requested.filter((ip, i) => requested.findIndex((other) => ipEquals(other, ip)) === i);
  const assigned = rangeSets.map((set) => {
    const index = pending.findIndex((ip) => rangeSetContains(set, ip));
    return index < 0 ? undefined : pending.splice(index, 1)[0];
  });
  if (pending.length > 0) {
    throw new CniError(ErrorCode.AddressUnavailable, `failed to allocate all requested IPs: ${pending.map(formatIp).join(' ')}`);
  }
  return assigned;
}

function reserveRequested(store: Store, set: RangeSet, rangeSetIndex: number, owner: Owner, ip: IpAddress): Allocation {
  const range = rangeFor(set, ip)!;
  if (isReservedAddress(range, ip)) {
    const what = ipEquals(ip, range.gateway) ? "subnet's gateway" : "subnet's network or broadcast address";
    throw failure(ErrorCode.AddressUnavailable, rangeSetIndex, `requested ip ${formatIp(ip)} is ${what}`);
  }
  if (!store.reserve(owner, ip, rangeSetIndex)) {
    throw failure(
      ErrorCode.AddressUnavailable,
      rangeSetIndex,
      `requested IP address ${formatIp(ip)} is not available in range set ${formatRangeSet(set)}`,
    );
  }
  return { ip, range };
}

function reserveNext(store: Store, set: RangeSet, rangeSetIndex: number, owner: Owner): Allocation {
  // Reserve fails only on a taken address, so this ends after at most (taken + 1) tries even in a /64.
  for (const candidate of roundRobin(set, store.lastReservedIp(rangeSetIndex))) {
    if (store.reserve(owner, candidate.ip, rangeSetIndex)) return candidate;
  }
  throw failure(ErrorCode.AddressUnavailable, rangeSetIndex, `no IP addresses available in range set: ${formatRangeSet(set)}`);
}

/**
 * One address from every range set for `owner`: the requested one where a set contains one, the next
 * free one otherwise. Refuses (code 102) when the owner already holds an address in a set.
 */
export function allocateAll(
  store: Store,
  rangeSets: readonly RangeSet[],
  owner: Owner,
  requested: readonly IpAddress[] = [],
): Allocation[] {
  const assigned = assignRequested(rangeSets, requested);
  const held = store.getById(owner);
  const done: Allocation[] = [];
  try {
    rangeSets.forEach((set, index) => {
      const existing = held.find((ip) => rangeSetContains(set, ip));
      if (existing) {
        throw failure(
          ErrorCode.DuplicateAllocation,
          index,
          `${formatIp(existing)} has been allocated to ${owner.containerId}, duplicate allocation is not allowed`,
        );
      }
      const want = assigned[index];
      done.push(want ? reserveRequested(store, set, index, owner, want) : reserveNext(store, set, index, owner));
    });
  } catch (err) {
    for (const allocation of done) {
      // Best effort: the error worth reporting is the one that stopped the allocation.
      try {
        store.release(allocation.ip);
      } catch {}
    }
    throw err;
  }
  return done;
}

/** The index of the first range set with no address left to hand out, or -1 (STATUS). */
export function firstFullRangeSet(rangeSets: readonly RangeSet[], reserved: readonly IpAddress[]): number {
  return rangeSets.findIndex((set) => {
    const taken = reserved.filter((ip) => {
      const range = rangeFor(set, ip);
      return range !== undefined && !isReservedAddress(range, ip);
    });
    return BigInt(taken.length) >= rangeSetCapacity(set);
  });
}
