import { describe, expect, it } from 'vitest';
import { parseNetworkConfig } from '../network-config.ts';
import { pickFreeIndex, planAcquisition, type PlanInput } from './subnet-plan.ts';
import type { Lease, LeaseSnapshot } from './lease.ts';

const config = parseNetworkConfig({ network: '10.244.0.0/16', subnetMin: '10.244.1.0', subnetMax: '10.244.4.0' });
const dual = parseNetworkConfig({ network: '10.244.0.0/16', ipv6Network: 'fd00:10:244::/56' });

function lease(subnet: string, nodeName: string, extra: Partial<Lease> = {}): Lease {
  return { subnet, nodeName, publicIp: '192.0.2.1', vtepMac: '0a:00:00:00:00:01', expiresAt: 1e13, revision: 1, ...extra };
}

function snapshot(leases: Lease[], invalid: LeaseSnapshot['invalid'] = []): LeaseSnapshot {
  return { leases, revision: 10, invalid };
}

function plan(overrides: Partial<PlanInput>) {
  return planAcquisition({ config, snapshot: snapshot([]), nodeName: 'me', random: () => 0, ...overrides });
}

describe('pickFreeIndex', () => {
  it('maps the random draw onto the free positions only', () => {
    const held = new Set([0, 2, 3]);
    expect(pickFreeIndex(6, held, () => 0)).toBe(1);
    expect(pickFreeIndex(6, held, () => 0.34)).toBe(4);
    expect(pickFreeIndex(6, held, () => 0.99)).toBe(5);
  });

  it('is undefined when every position is held', () => {
    expect(pickFreeIndex(3, new Set([0, 1, 2]), () => 0.5)).toBeUndefined();
  });

  it('draws every free position about equally often', () => {
    const held = new Set([1, 4, 5, 8]);
    const counts = new Map<number, number>();
    for (let i = 0; i < 6000; i++) {
      const index = pickFreeIndex(10, held, () => (i + 0.5) / 6000)!;
      counts.set(index, (counts.get(index) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([0, 2, 3, 6, 7, 9]);
    for (const count of counts.values()) expect(count).toBe(1000);
  });
});

describe('planAcquisition', () => {
  it('gives a random free subnet within [subnetMin, subnetMax]', () => {
    const taken = snapshot([lease('10.244.1.0/24', 'a'), lease('10.244.3.0/24', 'b')]);
    expect(plan({ snapshot: taken, random: () => 0 })).toMatchObject({ action: 'create', subnets: { subnet: '10.244.2.0/24' }, source: 'free' });
    expect(plan({ snapshot: taken, random: () => 0.9 })).toMatchObject({ action: 'create', subnets: { subnet: '10.244.4.0/24' } });
  });

  it('reports exhaustion with the range', () => {
    const full = snapshot(['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24', '10.244.4.0/24'].map((s, i) => lease(s, `n${i}`)));
    const result = plan({ snapshot: full });
    expect(result.action).toBe('exhausted');
    expect(result.notes.join()).toMatch(/all 4 subnets between 10\.244\.1\.0\/24 and 10\.244\.4\.0\/24 are taken/);
  });

  it('counts unreadable entries and leases outside the range correctly', () => {
    // Three of four taken: one by an unreadable entry. A lease outside the range takes nothing from it.
    const result = plan({
      snapshot: snapshot(
        [lease('10.244.1.0/24', 'a'), lease('10.244.2.0/24', 'b'), lease('10.244.9.0/24', 'c')],
        [{ key: '10.244.4.0-24', problem: 'value is not JSON' }],
      ),
      random: () => 0.99,
    });
    expect(result).toMatchObject({ action: 'create', subnets: { subnet: '10.244.3.0/24' } });
  });

  it('takes the node\'s own lease back before anything else', () => {
    const own = lease('10.244.3.0/24', 'me');
    const result = plan({ snapshot: snapshot([lease('10.244.1.0/24', 'a'), own]), previousSubnet: '10.244.2.0/24' });
    expect(result).toMatchObject({ action: 'reuse', lease: own, remove: [] });
  });

  it('prefers a reservation among several leases under the node\'s name, and says so', () => {
    const reservation = lease('10.244.4.0/24', 'me', { expiresAt: null });
    const result = plan({ snapshot: snapshot([lease('10.244.2.0/24', 'me'), reservation]) });
    expect(result).toMatchObject({ action: 'reuse', lease: reservation });
    expect(result.notes.join()).toMatch(/holds 2 leases.*another node running with the same name/);
  });

  it('uses the previous subnet from the state file when it is free', () => {
    const result = plan({ snapshot: snapshot([lease('10.244.1.0/24', 'a')]), previousSubnet: '10.244.3.0/24', random: () => 0 });
    expect(result).toMatchObject({ action: 'create', subnets: { subnet: '10.244.3.0/24' }, source: 'previous' });
  });

  it('falls back to a free subnet when the previous one is taken or outside the range', () => {
    const taken = plan({ snapshot: snapshot([lease('10.244.3.0/24', 'other')]), previousSubnet: '10.244.3.0/24', random: () => 0 });
    expect(taken).toMatchObject({ action: 'create', subnets: { subnet: '10.244.1.0/24' }, source: 'free' });
    expect(taken.notes.join()).toMatch(/held by another node/);
    const outside = plan({ previousSubnet: '10.244.200.0/24', random: () => 0 });
    expect(outside).toMatchObject({ action: 'create', subnets: { subnet: '10.244.1.0/24' }, source: 'free' });
    expect(outside.notes.join()).toMatch(/does not fit the network config/);
  });

  it('removes its own leases that no longer fit the config, and may then take the subnet again', () => {
    // Config changed from no IPv6 to dual stack: the old lease lacks the paired IPv6 subnet.
    const old = lease('10.244.3.0/24', 'me');
    const result = planAcquisition({ config: dual, snapshot: snapshot([old]), nodeName: 'me', previousSubnet: '10.244.3.0/24', random: () => 0 });
    expect(result).toMatchObject({
      action: 'create', remove: [old], source: 'previous',
      subnets: { subnet: '10.244.3.0/24', ipv6Subnet: 'fd00:10:244:3::/64' },
    });
  });

  it('ignores, never removes, a reservation of its own that does not fit', () => {
    const reservation = lease('10.244.9.0/24', 'me', { expiresAt: null });
    const result = plan({ snapshot: snapshot([reservation]) });
    expect(result).toMatchObject({ action: 'create', remove: [] });
    expect(result.notes.join()).toMatch(/reservation 10\.244\.9\.0\/24 \(reservation\) for this node does not fit/);
  });

  it('treats reservations of other nodes as taken', () => {
    const result = plan({
      snapshot: snapshot(['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24'].map((s) => lease(s, 'r', { expiresAt: null }))),
      random: () => 0.5,
    });
    expect(result).toMatchObject({ action: 'create', subnets: { subnet: '10.244.4.0/24' } });
  });

  it('pairs the IPv6 subnet with the IPv4 one', () => {
    const result = planAcquisition({ config: dual, snapshot: snapshot([]), nodeName: 'me', random: () => 0 });
    expect(result).toMatchObject({ action: 'create', subnets: { subnet: '10.244.1.0/24', ipv6Subnet: 'fd00:10:244:1::/64' } });
  });
});
