import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { allocateAll, assignRequested, firstFullRangeSet, roundRobin, type Allocation } from './allocator.ts';
import { MemoryStore } from './testing/memory-store.ts';
import { rangeSetOf } from './testing/ranges.ts';
import type { RangeSet } from './range-set.ts';
import { withLock, type Owner } from './store.ts';

const owner = (n: number | string, ifname = 'eth0'): Owner => ({ containerId: `c${n}`, ifname });

function allocate(store: MemoryStore, sets: RangeSet[], who: Owner, requested: string[] = []): string[] {
  const done = withLock(store, () => allocateAll(store, sets, who, requested.map(parseIp)));
  return done.map((a: Allocation) => `${formatIp(a.ip)}/${a.range.subnet.prefix}`);
}

function release(store: MemoryStore, who: Owner): string[] {
  return withLock(store, () => store.releaseById(who)).map(formatIp);
}

/** A CniError with this code (and message) is thrown. */
function refused(code: number, message?: string | RegExp) {
  const text = message === undefined ? expect.any(String) : typeof message === 'string' ? message : expect.stringMatching(message);
  return expect.objectContaining({ name: 'CniError', code, message: text });
}

describe('roundRobin', () => {
  const order = (set: RangeSet, last?: string) => [...roundRobin(set, last ? parseIp(last) : undefined)].map((a) => formatIp(a.ip));

  it('starts at rangeStart, skips the gateway, ends at rangeEnd', () => {
    expect(order(rangeSetOf('10.0.0.0/29'))).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  });
  it('continues after the last reserved address and wraps around to it', () => {
    expect(order(rangeSetOf('10.0.0.0/29'), '10.0.0.4')).toEqual(['10.0.0.5', '10.0.0.6', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
    expect(order(rangeSetOf('10.0.0.0/29'), '10.0.0.6')).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  });
  it('ignores a last address outside the set', () => {
    expect(order(rangeSetOf('10.0.0.0/29'), '10.0.9.9')).toEqual(order(rangeSetOf('10.0.0.0/29')));
    expect(order(rangeSetOf('10.0.0.0/29'), 'fd00::3')).toEqual(order(rangeSetOf('10.0.0.0/29')));
  });
  it('goes from one range to the next and from the last back to the first', () => {
    const set = rangeSetOf(['10.0.0.0/24', { rangeStart: '10.0.0.10', rangeEnd: '10.0.0.11' }], ['10.0.1.0/24', { rangeStart: '10.0.1.1', rangeEnd: '10.0.1.3' }]);
    expect(order(set, '10.0.0.11')).toEqual(['10.0.1.2', '10.0.1.3', '10.0.0.10', '10.0.0.11']);
  });
  it('skips network and broadcast addresses reachable through an explicit span', () => {
    expect(order(rangeSetOf(['10.0.0.0/30', { rangeStart: '10.0.0.0', rangeEnd: '10.0.0.3', gateway: '10.0.0.2' }]))).toEqual(['10.0.0.1']);
  });
  it('walks the top of the IPv6 space without leaving it', () => {
    expect(order(rangeSetOf('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff8/125'), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe'))
      .toEqual(['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffa', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffb',
        'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe']);
  });
});

describe('allocateAll', () => {
  it('hands out addresses in order with the subnet prefix, and records them', () => {
    const store = new MemoryStore();
    const set = rangeSetOf('10.0.0.0/24');
    expect(allocate(store, [set], owner(1))).toEqual(['10.0.0.2/24']);
    expect(allocate(store, [set], owner(2))).toEqual(['10.0.0.3/24']);
    expect(store.entries.get('10.0.0.3')).toBe('c2\r\neth0');
    expect(formatIp(store.lastReserved.get(0)!)).toBe('10.0.0.3');
  });

  it('goes round robin: a released address comes back only after the rest of the range', () => {
    const store = new MemoryStore();
    const set = rangeSetOf('10.0.0.0/29');
    expect(allocate(store, [set], owner(1))).toEqual(['10.0.0.2/29']);
    release(store, owner(1));
    const seen = [2, 3, 4, 5, 6].map((n) => allocate(store, [set], owner(`x${n}`))[0]);
    expect(seen).toEqual(['10.0.0.3/29', '10.0.0.4/29', '10.0.0.5/29', '10.0.0.6/29', '10.0.0.2/29']);
  });

  it('wraps around past taken addresses', () => {
    const store = new MemoryStore([['10.0.0.2', 'other\r\neth0'], ['10.0.0.3', 'other\r\neth1']]);
    store.lastReserved.set(0, parseIp('10.0.0.6'));
    expect(allocate(store, [rangeSetOf('10.0.0.0/29')], owner(1))).toEqual(['10.0.0.4/29']);
  });

  it('reports exhaustion with code 101 and changes nothing', () => {
    const store = new MemoryStore();
    const set = rangeSetOf(['10.0.0.0/24', { rangeStart: '10.0.0.10', rangeEnd: '10.0.0.12' }]);
    for (const n of [1, 2, 3]) allocate(store, [set], owner(n));
    const before = new Map(store.entries);
    expect(() => allocate(store, [set], owner(4)))
      .toThrow(refused(101, 'failed to allocate for range 0: no IP addresses available in range set: 10.0.0.10-10.0.0.12'));
    expect(store.entries).toEqual(before);
  });

  it('fills an IPv6 /120 completely: 254 addresses, ::0 and the gateway ::1 kept back', () => {
    const store = new MemoryStore();
    const set = rangeSetOf('fd00::/120');
    const got = Array.from({ length: 254 }, (_, n) => allocate(store, [set], owner(n))[0]);
    expect(new Set(got).size).toBe(254);
    expect(got[0]).toBe('fd00::2/120');
    expect(got[253]).toBe('fd00::ff/120');
    expect(() => allocate(store, [set], owner('last'))).toThrow(refused(101));
    expect(firstFullRangeSet([set], withLock(store, () => store.reservedIps()))).toBe(0);
  });

  it('allocates from an IPv6 /64 without walking it', () => {
    const store = new MemoryStore();
    const set = rangeSetOf('2001:db8:1:2::/64');
    expect(allocate(store, [set], owner(1))).toEqual(['2001:db8:1:2::2/64']);
    store.lastReserved.set(0, parseIp('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(allocate(store, [set], owner(2))).toEqual(['2001:db8:1:2::3/64']);
  });

  it('takes one address from every range set (dual stack) and records the set index', () => {
    const store = new MemoryStore();
    const sets = [rangeSetOf('10.0.0.0/24'), rangeSetOf('fd00::/64'), rangeSetOf('10.1.0.0/16')];
    expect(allocate(store, sets, owner(1))).toEqual(['10.0.0.2/24', 'fd00::2/64', '10.1.0.2/16']);
    expect([...store.lastReserved.entries()].map(([id, ip]) => [id, formatIp(ip)]))
      .toEqual([[0, '10.0.0.2'], [1, 'fd00::2'], [2, '10.1.0.2']]);
  });

  it('undoes the sets already done when a later one fails', () => {
    const store = new MemoryStore([['fd00::2', 'x\r\neth0']]);
    const sets = [rangeSetOf('10.0.0.0/24'), rangeSetOf(['fd00::/120', { rangeStart: 'fd00::2', rangeEnd: 'fd00::2' }])];
    expect(() => allocate(store, sets, owner(1))).toThrow(refused(101, /^failed to allocate for range 1: no IP addresses/));
    expect([...store.entries.keys()]).toEqual(['fd00::2']);
  });

  it('refuses a second allocation for the same attachment (102), but not for another interface', () => {
    const store = new MemoryStore();
    const sets = [rangeSetOf('10.0.0.0/24'), rangeSetOf('fd00::/64')];
    allocate(store, sets, owner(1));
    expect(() => allocate(store, sets, owner(1)))
      .toThrow(refused(102, 'failed to allocate for range 0: 10.0.0.2 has been allocated to c1, duplicate allocation is not allowed'));
    expect(store.entries.size).toBe(2);
    expect(allocate(store, sets, owner(1, 'eth1'))).toEqual(['10.0.0.3/24', 'fd00::3/64']);
  });

  it('counts an old-format allocation of the container as a duplicate', () => {
    const store = new MemoryStore([['10.0.0.9', 'c1']]);
    expect(() => allocate(store, [rangeSetOf('10.0.0.0/24')], owner(1))).toThrow(refused(102));
  });

  describe('requested addresses', () => {
    const sets = [rangeSetOf('10.0.0.0/24'), rangeSetOf('fd00::/64')];

    it('grants them in the set that contains them and allocates the others', () => {
      const store = new MemoryStore();
      expect(allocate(store, sets, owner(1), ['fd00::99'])).toEqual(['10.0.0.2/24', 'fd00::99/64']);
      expect(allocate(store, sets, owner(2), ['10.0.0.200', 'fd00::5', '10.0.0.200'])).toEqual(['10.0.0.200/24', 'fd00::5/64']);
      expect(formatIp(store.lastReserved.get(1)!)).toBe('fd00::5');
    });

    it('refuses a taken one (101) without replacing it', () => {
      const store = new MemoryStore([['10.0.0.7', 'other\r\neth0']]);
      expect(() => allocate(store, sets, owner(1), ['10.0.0.7']))
        .toThrow(refused(101, 'failed to allocate for range 0: requested IP address 10.0.0.7 is not available in range set 10.0.0.1-10.0.0.254'));
      expect(store.entries.size).toBe(1);
    });

    it('refuses the gateway and, before reserving anything, an address outside every set', () => {
      const store = new MemoryStore();
      expect(() => allocate(store, sets, owner(1), ['10.0.0.1']))
        .toThrow(refused(101, "failed to allocate for range 0: requested ip 10.0.0.1 is subnet's gateway"));
      expect(() => allocate(store, sets, owner(1), ['fd00::8', '192.168.1.1', '10.9.9.9']))
        .toThrow(refused(101, 'failed to allocate all requested IPs: 192.168.1.1 10.9.9.9'));
      expect(store.entries.size).toBe(0);
    });

    it('refuses two addresses for one set', () => {
      expect(() => assignRequested(sets, ['10.0.0.5', '10.0.0.6'].map(parseIp))).toThrow('failed to allocate all requested IPs: 10.0.0.6');
    });
  });
});

describe('firstFullRangeSet', () => {
  it('finds the set with nothing left, ignoring addresses outside it and kept-back ones', () => {
    const small = rangeSetOf(['10.0.0.0/24', { rangeStart: '10.0.0.1', rangeEnd: '10.0.0.3' }]);
    const big = rangeSetOf('10.1.0.0/16');
    const ips = (...texts: string[]) => texts.map(parseIp);
    expect(firstFullRangeSet([big, small], ips('10.0.0.2'))).toBe(-1);
    expect(firstFullRangeSet([big, small], ips('10.0.0.2', '10.0.0.3', '10.0.0.9'))).toBe(1);
  });
});
