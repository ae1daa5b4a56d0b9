// Whether a started daemon is still ready, from the lease it holds now: a lease that has expired (the store
// has been out of reach for longer than its TTL, so renewals failed) may already be another node's, and
// the detail follows the lease when it moves to another subnet.
import type { ProbeResult } from '../ops/ops-server.ts';
import type { Lease } from './lease.ts';

export function leaseReadiness(lease: Lease | undefined, now: number): ProbeResult {
  if (!lease) return { ok: false, detail: 'no subnet lease held' };
  if (lease.expiresAt !== null && lease.expiresAt <= now) {
    return { ok: false, detail: `the lease on ${lease.subnet} expired at ${new Date(lease.expiresAt).toISOString()}: renewals have not reached the store` };
  }
  return { ok: true, detail: `ready: ${lease.subnet}${lease.ipv6Subnet ? ` ${lease.ipv6Subnet}` : ''}` };
}
