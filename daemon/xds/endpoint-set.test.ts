import { describe, expect, it } from 'vitest';
import { EndpointSet } from './endpoint-set.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';

describe('EndpointSet', () => {
  it('keys endpoints by container and tells listeners of each change, not of a no-op delete', () => {
    const set = new EndpointSet();
    let calls = 0;
    const stop = set.onChange(() => calls++);
    set.set(endpoint('s', 'c1', 'n', '10.0.0.1'));
    set.set(endpoint('s', 'c1', 'n', '10.0.0.2'));
    expect([...set.endpoints()].map((e) => e.address)).toEqual(['10.0.0.2']);
    expect(set.delete('nope')).toBe(false);
    expect(set.delete('c1')).toBe(true);
    set.replaceAll([endpoint('s', 'c2', 'n', '10.0.0.3'), endpoint('s', 'c3', 'n', '10.0.0.4')]);
    expect(calls).toBe(4);
    expect(set.size).toBe(2);
    stop();
    set.delete('c2');
    expect(calls).toBe(4);
  });
});
