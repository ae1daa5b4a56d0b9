import { describe, expect, it } from 'vitest';
import type { Lease } from './lease.ts';
import { leaseReadiness } from './lease-readiness.ts';

const lease = (subnet: string, expiresAt: number | null): Lease => ({ nodeName: 'a', subnet, publicIp: '192.0.2.1', vtepMac: '02:00:00:00:00:01', expiresAt, revision: 1 });
const now = Date.parse('2026-11-23T12:00:00Z');

describe('leaseReadiness', () => {
  it('is ready with a live lease, and names the subnet it holds now', () => {
    expect(leaseReadiness(lease('10.244.7.0/24', now + 1000), now)).toEqual({ ok: true, detail: 'ready: 10.244.7.0/24' });
    expect(leaseReadiness({ ...lease('10.244.9.0/24', null), ipv6Subnet: 'fd00::/64' }, now)).toEqual({ ok: true, detail: 'ready: 10.244.9.0/24 fd00::/64' });
  });

  it('is not ready once the lease has expired, or without one', () => {
    expect(leaseReadiness(lease('10.244.7.0/24', now - 1), now)).toEqual({
      ok: false, detail: 'the lease on 10.244.7.0/24 expired at 2026-11-23T11:59:59.999Z: renewals have not reached the store',
    });
    expect(leaseReadiness(undefined, now)).toEqual({ ok: false, detail: 'no subnet lease held' });
  });
});
