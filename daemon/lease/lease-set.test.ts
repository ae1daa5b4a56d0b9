import { describe, expect, it } from 'vitest';
import type { Lease } from './lease.ts';
import { sortLeases } from './lease.ts';
import { LeaseSet } from './lease-set.ts';
import type { LeaseEvent } from './store.ts';

function lease(n: number, extra: Partial<Lease> = {}): Lease {
  return { subnet: `10.244.${n}.0/24`, nodeName: `n${n}`, publicIp: `192.0.2.${n}`, vtepMac: '0a:00:00:00:00:01', expiresAt: 1e13, revision: n, ...extra };
}

function events(revision: number, ...list: LeaseEvent[]) {
  return { kind: 'events' as const, revision, events: list, invalid: [] };
}

describe('LeaseSet', () => {
  it('reports additions, removals and published changes, not renewals', () => {
    const set = new LeaseSet({ leases: [lease(1), lease(2)], revision: 2, invalid: [] });
    const changes = set.apply(events(5,
      { type: 'put', lease: lease(3) },
      { type: 'delete', subnet: '10.244.1.0/24', revision: 4 },
      { type: 'put', lease: lease(2, { publicIp: '192.0.2.99', revision: 5 }) },
    ));
    expect(changes).toEqual({ added: [lease(3)], removed: [lease(1)], updated: [lease(2, { publicIp: '192.0.2.99', revision: 5 })] });
    expect(set.revision).toBe(5);
    expect(set.apply(events(6, { type: 'put', lease: lease(3, { revision: 6, expiresAt: 2e13 }) })))
      .toEqual({ added: [], removed: [], updated: [] });
    expect(set.all().map((l) => l.subnet)).toEqual(['10.244.2.0/24', '10.244.3.0/24']);
  });

  it('compares the first and last version of a subnet within a batch', () => {
    const set = new LeaseSet({ leases: [lease(1)], revision: 1, invalid: [] });
    // Removed and put back unchanged: nothing to do. Updated then removed: the consumer removes what it had.
    expect(set.apply(events(3,
      { type: 'delete', subnet: '10.244.1.0/24', revision: 2 },
      { type: 'put', lease: lease(1, { revision: 3 }) },
    ))).toEqual({ added: [], removed: [], updated: [] });
    expect(set.apply(events(5,
      { type: 'put', lease: lease(1, { publicIp: '192.0.2.50', revision: 4 }) },
      { type: 'delete', subnet: '10.244.1.0/24', revision: 5 },
    ))).toEqual({ added: [], removed: [lease(1, { revision: 3 })], updated: [] });
    // Added and removed within one batch: never seen.
    expect(set.apply(events(7, { type: 'put', lease: lease(9) }, { type: 'delete', subnet: '10.244.9.0/24', revision: 7 })))
      .toEqual({ added: [], removed: [], updated: [] });
  });

  it('ignores deletes of unknown subnets', () => {
    const set = new LeaseSet();
    expect(set.apply(events(1, { type: 'delete', subnet: '10.244.1.0/24', revision: 1 }))).toEqual({ added: [], removed: [], updated: [] });
  });

  it('turns a reset into the difference to what was known', () => {
    const set = new LeaseSet({ leases: [lease(1), lease(2)], revision: 2, invalid: [] });
    const changes = set.apply({
      kind: 'reset', reason: 'compacted',
      snapshot: { leases: [lease(2, { vtepMac: '0a:00:00:00:00:22', revision: 8 }), lease(4)], revision: 9, invalid: [] },
    });
    expect(changes).toEqual({ added: [lease(4)], removed: [lease(1)], updated: [lease(2, { vtepMac: '0a:00:00:00:00:22', revision: 8 })] });
    expect(set.revision).toBe(9);
  });

  it('keeps subnet order through any sequence of changes, and hands out one listing per change', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const set = new LeaseSet();
    const model = new Map<string, Lease>();
    for (let step = 1; step <= 600; step++) {
      // Subnets across octets, so that text order and address order differ (10.244.9.0 < 10.244.10.0).
      const n = random(256);
      const subnet = `10.${244 + (n % 3)}.${n}.0/24`;
      const put = random(3) > 0;
      const batch = put
        ? events(step, { type: 'put', lease: lease(n, { subnet, revision: step }) })
        : events(step, { type: 'delete', subnet, revision: step });
      set.apply(batch);
      if (put) model.set(subnet, lease(n, { subnet, revision: step }));
      else model.delete(subnet);
      if (step % 50 === 0) expect(set.all()).toEqual(sortLeases([...model.values()]));
    }
    expect(set.size).toBe(model.size);
    const listing = set.all();
    expect(set.all()).toBe(listing);
    set.apply(events(601, { type: 'put', lease: lease(1, { subnet: '10.250.1.0/24', revision: 601 }) }));
    expect(set.all()).not.toBe(listing);
    expect(Object.isFrozen(set.all())).toBe(true);
  });
});
