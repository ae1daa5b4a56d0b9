import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { Logger } from '../log.ts';
import { parseNetworkConfig } from '../network-config.ts';
import { LeaseManager, type LeaseManagerOptions, type LeaseSetEvent } from './lease-manager.ts';
import { LeaseSet } from './lease-set.ts';
import { MemoryStore } from './testing/memory-store.ts';

const config = parseNetworkConfig({ network: '10.244.0.0/16', subnetMin: '10.244.1.0', subnetMax: '10.244.20.0', ttl: 60 });

let store: MemoryStore;
let logs: Array<Record<string, unknown>>;
const managers: LeaseManager[] = [];

function manager(nodeName = 'me', extra: Partial<LeaseManagerOptions> = {}): LeaseManager {
  const log = new Logger('debug', (line) => logs.push(JSON.parse(line)));
  const m = new LeaseManager({
    store, config, log, random: () => 0.5,
    attrs: { nodeName, publicIp: '192.0.2.10', vtepMac: '0a:00:00:00:00:10' },
    ...extra,
  });
  managers.push(m);
  return m;
}

const renewCalls = () => store.calls.filter((c) => c.startsWith('renew'));
const stored = (subnet: string) => store.table.leases[subnet.replace('/', '-')];

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-01-01T00:00:00Z') });
  store = new MemoryStore();
  logs = [];
});

afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
  vi.useRealTimers();
});

describe('acquisition', () => {
  it('acquires a lease and tells subscribers about every lease', async () => {
    store.put({ subnet: '10.244.7.0/24', nodeName: 'peer', publicIp: '192.0.2.7', vtepMac: '0a:00:00:00:00:07' }, 60);
    const m = manager();
    const events: LeaseSetEvent[] = [];
    m.subscribe((e) => events.push(e));
    const lease = await m.start();
    expect(lease).toMatchObject({ nodeName: 'me', publicIp: '192.0.2.10', expiresAt: Date.now() + 60_000 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ reason: 'acquired', own: lease });
    expect(events[0]!.leases.map((l) => l.nodeName).sort()).toEqual(['me', 'peer']);
    expect(events[0]!.changes.added).toHaveLength(2);
  });

  it('takes its own lease back after a restart, with a fresh TTL and its current address', async () => {
    const first = await manager().start();
    await managers[0]!.stop();
    vi.advanceTimersByTime(40_000);
    const again = await manager('me', { attrs: { nodeName: 'me', publicIp: '192.0.2.99', vtepMac: '0a:00:00:00:00:10' }, previousSubnet: '10.244.3.0/24' }).start();
    expect(again).toMatchObject({ subnet: first.subnet, publicIp: '192.0.2.99', expiresAt: Date.now() + 60_000 });
    expect(Object.keys(store.table.leases)).toHaveLength(1);
  });

  it('keeps a reservation a reservation and does not renew it', async () => {
    store.put({ subnet: '10.244.9.0/24', nodeName: 'me', publicIp: '', vtepMac: '' }, null);
    const lease = await manager().start();
    expect(lease).toMatchObject({ subnet: '10.244.9.0/24', expiresAt: null, publicIp: '192.0.2.10' });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(renewCalls()).toEqual([]);
  });

  it('gives simultaneous starters distinct subnets even when they all pick the same one first', async () => {
    const starters = Array.from({ length: 8 }, (_, i) => manager(`node${i}`, { random: () => 0 }));
    const leases = await Promise.all(starters.map((m) => m.start()));
    expect(new Set(leases.map((l) => l.subnet)).size).toBe(8);
    expect(store.calls.filter((c) => c.startsWith('create')).length).toBeGreaterThan(8);
  });

  it('fails with code 101 when the range is full', async () => {
    for (let i = 1; i <= 20; i++) store.put({ subnet: `10.244.${i}.0/24`, nodeName: `n${i}`, publicIp: '', vtepMac: '' }, 60);
    const error = await manager().start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CniError);
    expect((error as CniError).code).toBe(ErrorCode.AddressUnavailable);
    expect((error as CniError).message).toMatch(/all 20 subnets between 10\.244\.1\.0\/24 and 10\.244\.20\.0\/24 are taken/);
  });
});

describe('renewal', () => {
  it('renews at half-life, again and again', async () => {
    const m = manager();
    const lease = await m.start();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(renewCalls()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(renewCalls()).toEqual([`renew ${lease.subnet}`]);
    expect(stored(lease.subnet)!.expiresAt).toBe(Date.now() + 60_000);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(renewCalls()).toHaveLength(2);
    expect(m.stats).toMatchObject({ renewals: 2, renewalFailures: 0, lastRenewal: Date.now(), losses: 0 });
  });

  it('retries failed renewals with growing delays until the store answers', async () => {
    const m = manager();
    await m.start();
    store.failNext('renew', 3);
    const start = Date.now();
    const times: number[] = [];
    const realRenew = store.renew.bind(store);
    store.renew = (lease) => {
      times.push(Date.now() - start);
      return realRenew(lease);
    };
    await vi.advanceTimersByTimeAsync(40_000);
    // random() = 0.5 takes out the jitter: 1 s, 2 s, 4 s after the half-life.
    expect(times).toEqual([30_000, 31_000, 33_000, 37_000]);
    expect(m.stats).toMatchObject({ renewals: 1, renewalFailures: 3, losses: 0 });
    expect(logs.filter((l) => l.msg === 'lease renewal failed; retrying')).toHaveLength(3);
  });

  it('takes its subnet back after a store outage longer than the TTL', async () => {
    const m = manager();
    const lease = await m.start();
    store.failNext('renew', 1000);
    await vi.advanceTimersByTimeAsync(70_000);
    expect(stored(lease.subnet)!.expiresAt).toBeLessThan(Date.now());
    store.heal();
    await vi.advanceTimersByTimeAsync(16_000);
    expect(m.lease).toMatchObject({ subnet: lease.subnet });
    expect(stored(lease.subnet)!.expiresAt).toBeGreaterThan(Date.now());
    expect(m.stats.losses).toBe(1);
  });
});

describe('a lease lost under a running daemon', () => {
  it('is acquired again when deleted, and the loss is logged and counted', async () => {
    const m = manager();
    const lease = await m.start();
    store.remove(lease.subnet);
    await vi.advanceTimersByTimeAsync(0);
    expect(stored(lease.subnet)).toMatchObject({ nodeName: 'me' });
    expect(m.lease!.subnet).toBe(lease.subnet);
    expect(m.stats.losses).toBe(1);
    expect(logs.some((l) => l.level === 'error' && /lease was lost/.test(String(l.msg)) && /deleted/.test(String(l.reason)))).toBe(true);
    // Renewals go on with the new lease.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(m.stats.renewals).toBe(1);
  });

  it('moves to another subnet when another node took it, and says so to subscribers', async () => {
    const m = manager();
    const lease = await m.start();
    const events: LeaseSetEvent[] = [];
    m.subscribe((e) => events.push(e));
    store.remove(lease.subnet);
    store.put({ subnet: lease.subnet, nodeName: 'intruder', publicIp: '192.0.2.66', vtepMac: '0a:00:00:00:00:66' }, 60);
    await vi.advanceTimersByTimeAsync(0);
    expect(m.lease!.subnet).not.toBe(lease.subnet);
    expect(stored(m.lease!.subnet)).toMatchObject({ nodeName: 'me' });
    const moved = events.find((e) => e.reason === 'own-lease');
    expect(moved?.own.subnet).toBe(m.lease!.subnet);
    expect(logs.some((l) => l.level === 'error' && /moved to another subnet/.test(String(l.msg)))).toBe(true);
  });

  it('backs off when another daemon with its name keeps taking the lease, and says so', async () => {
    const m = manager();
    const lease = await m.start();
    const twin = (n: number) => store.put({ ...lease, publicIp: `203.0.113.${n}` }, 60);
    // The twin rewrites the lease at once after every recovery: the first loss is answered at once,
    // the next ones after growing delays (1 s, then 2 s with this TTL), not as fast as the store answers.
    twin(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(m.stats.losses).toBe(1);
    twin(2);
    await vi.advanceTimersByTimeAsync(500);
    expect(stored(lease.subnet)).toMatchObject({ publicIp: '203.0.113.2' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(stored(lease.subnet)).toMatchObject({ publicIp: '192.0.2.10' });
    expect(m.stats.losses).toBe(2);
    expect(logs.some((l) => /another daemon with this node's name \(public IP 203\.0\.113\.2\)/.test(String(l.reason)))).toBe(true);
  });

  it('is noticed by a renewal that finds it rewritten, and repaired', async () => {
    const m = manager();
    const lease = await m.start();
    // Rewritten without the watch seeing it (e.g. events lost while the watch reconnects).
    store.put({ ...lease, publicIp: '203.0.113.1' }, 60, true);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(m.stats.losses).toBe(1);
    expect(stored(lease.subnet)).toMatchObject({ nodeName: 'me', publicIp: '192.0.2.10' });
  });
});

describe('peers and shutdown', () => {
  it('reports nodes joining and leaving', async () => {
    const m = manager();
    await m.start();
    const events: LeaseSetEvent[] = [];
    m.subscribe((e) => events.push(e));
    const peer = store.put({ subnet: '10.244.15.0/24', nodeName: 'peer', publicIp: '192.0.2.15', vtepMac: '0a:00:00:00:00:15' }, 60);
    store.remove(peer.subnet);
    expect(events.map((e) => [e.reason, e.changes.added.map((l) => l.nodeName), e.changes.removed.map((l) => l.nodeName)]))
      .toEqual([['peers', ['peer'], []], ['peers', [], ['peer']]]);
    expect(events[1]!.leases.map((l) => l.nodeName)).toEqual(['me']);
  });

  it('lists every lease for a change only when a subscriber reads the listing', async () => {
    const m = manager();
    await m.start();
    const seen: LeaseSetEvent[] = [];
    m.subscribe((e) => seen.push(e));
    const listings = vi.spyOn(LeaseSet.prototype, 'all');
    store.put({ subnet: '10.244.15.0/24', nodeName: 'peer', publicIp: '192.0.2.15', vtepMac: '0a:00:00:00:00:15' }, 60);
    expect(seen.map((e) => e.changes.added.map((l) => l.nodeName))).toEqual([['peer']]);
    expect(listings).not.toHaveBeenCalled();
    expect(seen[0]!.leases.map((l) => l.nodeName)).toEqual(['me', 'peer']);
    listings.mockRestore();
  });

  it('stops renewing on stop and leaves the lease in the store', async () => {
    const m = manager();
    const lease = await m.start();
    await m.stop();
    await vi.advanceTimersByTimeAsync(50_000);
    expect(renewCalls()).toEqual([]);
    expect(stored(lease.subnet)).toMatchObject({ nodeName: 'me' });
  });
});
