import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { EndpointSet } from '../xds/endpoint-set.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';
import type { NodeHealthView } from '../health/node-health.ts';
import { ZoneSource } from './zone-source.ts';

function healthView(down: Set<string>): NodeHealthView & { changed(): void } {
  const listeners = new Set<() => void>();
  return {
    state: (node) => (down.has(node) ? 'down' : 'serving'),
    isServing: (node) => !down.has(node),
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    changed: () => listeners.forEach((l) => l()),
  };
}

describe('ZoneSource', () => {
  it('rebuilds the zone after an endpoint or node health change, with a growing serial, and reuses it otherwise', () => {
    const endpoints = new EndpointSet([endpoint('web', 'c1', 'node-1', '10.244.1.2')]);
    const down = new Set<string>();
    const health = healthView(down);
    const source = new ZoneSource(endpoints, health, { domain: 'weft.internal', networks: [parseCidr('10.244.0.0/16')] }, () => 5000);
    // (The clock stands still: every build takes no time, so nothing is held.)
    const names = () => source.current().answer('web.weft.internal', 'A')!.answers.map((a) => (a as { data: string }).data).sort();
    const serial = () => (source.current().answer('weft.internal', 'SOA')!.answers[0] as { data: { serial: number } }).data.serial;
    const first = source.current();
    expect(source.current()).toBe(first);
    expect(serial()).toBe(5);
    endpoints.set(endpoint('web', 'c2', 'node-2', '10.244.2.2'));
    expect(names()).toEqual(['10.244.1.2', '10.244.2.2']);
    expect(serial()).toBe(6);
    down.add('node-2');
    health.changed();
    expect(names()).toEqual(['10.244.1.2']);
    source.close();
  });

  it('keeps answering from the previous zone for four times its build time, at most a second', () => {
    const endpoints = new EndpointSet([endpoint('web', 'c1', 'node-1', '10.244.1.2')]);
    let now = 10_000;
    const clock = [0, 200];
    // Each build reads the clock before and after: the first takes 200 ms, so the zone is held for 800.
    const source = new ZoneSource(endpoints, healthView(new Set()), { domain: 'weft.internal', networks: [] }, () => now + (clock.shift() ?? 0));
    const first = source.current();
    now = 10_300;
    endpoints.set(endpoint('web', 'c2', 'node-2', '10.244.2.2'));
    now = 10_999;
    expect(source.current()).toBe(first);
    now = 11_000;
    expect(source.current()).not.toBe(first);
    expect(source.current().answer('web.weft.internal', 'A')!.answers).toHaveLength(2);
  });
});
