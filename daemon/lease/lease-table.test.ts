import { describe, expect, it } from 'vitest';
import type { Lease, LeaseSpec } from './lease.ts';
import {
  decodeTable, diffLeases, emptyTable, encodeTable, nextExpiry, tableConfig, tableCreate, tableDelete, tableRenew,
  tableSnapshot, tableUpdate, type LeaseTable,
} from './lease-table.ts';

const a: LeaseSpec = { subnet: '10.244.1.0/24', nodeName: 'a', publicIp: '192.0.2.1', vtepMac: '0a:00:00:00:00:01' };
const b: LeaseSpec = { subnet: '10.244.2.0/24', nodeName: 'b', publicIp: '192.0.2.2', vtepMac: '0a:00:00:00:00:02' };

function created(table: LeaseTable, spec: LeaseSpec, ttl: number | null, now: number): { table: LeaseTable; lease: Lease } {
  const { table: next, result } = tableCreate(table, spec, ttl, now);
  if (!next || !result.created) throw new Error('not created');
  return { table: next, lease: result.lease };
}

describe('create-if-absent', () => {
  it('creates once, then reports the holder', () => {
    const first = created(emptyTable(), a, 60, 1000);
    expect(first.lease).toEqual({ ...a, expiresAt: 61_000, revision: 1 });
    const second = tableCreate(first.table, { ...a, nodeName: 'x' }, 60, 2000);
    expect(second.table).toBeUndefined();
    expect(second.result).toEqual({ created: false, existing: first.lease });
  });

  it('lets an expired lease be taken, dropping expired entries in the same revision', () => {
    let { table } = created(emptyTable(), a, 1, 0);
    table = created(table, b, 10, 0).table;
    const again = created(table, { ...a, nodeName: 'x' }, 60, 1000);
    expect(again.lease).toMatchObject({ nodeName: 'x', revision: 3 });
    expect(tableSnapshot(again.table, 1000).leases.map((l) => l.nodeName)).toEqual(['x', 'b']);
  });
});

describe('conditional writes', () => {
  const start = created(emptyTable(), a, 60, 0);

  it('updates only the revision it was given', () => {
    const { table, result } = tableUpdate(start.table, start.lease, { ...a, publicIp: '192.0.2.9' }, 60, 10);
    expect(result).toEqual({ ...a, publicIp: '192.0.2.9', expiresAt: 60_010, revision: 2 });
    expect(tableUpdate(table!, start.lease, a, 60, 20)).toEqual({ result: undefined });
  });

  it('renews without a new revision, with the TTL the lease was written with', () => {
    const { table, result } = tableRenew(start.table, start.lease, 30_000);
    expect(result).toEqual({ ...start.lease, expiresAt: 90_000 });
    expect(table!.revision).toBe(1);
  });

  it('does not renew a lease that expired, changed or is gone', () => {
    expect(tableRenew(start.table, start.lease, 60_000).result).toBeUndefined();
    expect(tableRenew(start.table, { ...start.lease, revision: 7 }, 10).result).toBeUndefined();
    expect(tableRenew(emptyTable(), start.lease, 10).result).toBeUndefined();
  });

  it('keeps a reservation without expiry through renewals', () => {
    const reservation = created(emptyTable(), a, null, 0);
    expect(tableRenew(reservation.table, reservation.lease, 1e12).result).toMatchObject({ expiresAt: null });
  });

  it('deletes only the revision it was given', () => {
    expect(tableDelete(start.table, { ...start.lease, revision: 5 }, 1).result).toBe(false);
    const { table, result } = tableDelete(start.table, start.lease, 1);
    expect(result).toBe(true);
    expect(table!.leases).toEqual({});
    expect(table!.revision).toBe(2);
  });

  it('refuses to move a lease to another subnet', () => {
    expect(() => tableUpdate(start.table, start.lease, b, 60, 0)).toThrow(/cannot move/);
  });
});

describe('network config', () => {
  it('stores the first proposal and returns it to later ones', () => {
    const first = tableConfig(emptyTable(), { network: '10.244.0.0/16' }, 0);
    expect(first.result).toEqual({ network: '10.244.0.0/16' });
    expect(tableConfig(first.table!, { network: '10.99.0.0/16' }, 0)).toEqual({ result: { network: '10.244.0.0/16' } });
  });
});

describe('watch support', () => {
  it('diffs two lease sets into deletes and puts', () => {
    const one = created(emptyTable(), a, 60, 0);
    const two = created(one.table, b, 60, 0);
    const before = new Map(tableSnapshot(two.table, 0).leases.map((l) => [l.subnet, l]));
    const { table } = tableUpdate(two.table, two.lease, { ...b, publicIp: '192.0.2.22' }, 60, 0);
    const after = tableSnapshot(tableDelete(table!, one.lease, 0).table!, 0);
    expect(diffLeases(before, after)).toEqual([
      { type: 'delete', subnet: a.subnet, revision: 4 },
      { type: 'put', lease: { ...b, publicIp: '192.0.2.22', expiresAt: 60_000, revision: 3 } },
    ]);
  });

  it('finds the next expiry among live leases', () => {
    const { table } = created(created(created(emptyTable(), a, 5, 0).table, b, 2, 0).table, { ...b, subnet: '10.244.3.0/24' }, null, 0);
    expect(nextExpiry(table, 0)).toBe(2000);
    expect(nextExpiry(table, 2000)).toBe(5000);
    expect(nextExpiry(table, 5000)).toBeUndefined();
  });
});

describe('the file format', () => {
  it('round-trips', () => {
    const { table } = created(tableConfig(emptyTable(), { network: '10.244.0.0/16' }, 0).table!, a, null, 0);
    expect(decodeTable(JSON.parse(encodeTable(table)))).toEqual(table);
  });

  it.each<[unknown, RegExp]>([
    [{ revision: 1, leases: {} }, /not a weft lease file/],
    [{ format: 'weft-leases/1', revision: -1, leases: {} }, /"revision" must be a non-negative integer/],
    [{ format: 'weft-leases/1', revision: 1, leases: [] }, /"leases" must be an object/],
    [{ format: 'weft-leases/1', revision: 1, leases: { x: { revision: 1, expiresAt: 'soon', ttl: 1 } } }, /"expiresAt" must be milliseconds/],
    [{ format: 'weft-leases/1', revision: 1, leases: { x: { revision: 1, expiresAt: 5, ttl: null } } }, /"ttl" must be seconds/],
  ])('refuses %j', (json, message) => {
    expect(() => decodeTable(json as never)).toThrow(message);
  });

  it('keeps a hand-written bad entry as taken but unreadable', () => {
    const table = decodeTable({ format: 'weft-leases/1', revision: 3, leases: { '10.244.1.0-24': { revision: 2, expiresAt: null, ttl: null, publicIp: 'x' } } });
    expect(tableSnapshot(table, 0)).toEqual({
      leases: [], revision: 3, invalid: [{ key: '10.244.1.0-24', problem: '"nodeName" must be a non-empty string' }],
    });
  });
});
