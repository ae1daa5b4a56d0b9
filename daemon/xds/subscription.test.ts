import { describe, expect, it } from 'vitest';
import { Subscription } from './subscription.ts';

describe('Subscription, state of the world', () => {
  it('reads an empty first list as the wildcard, and keeps it while lists stay empty', () => {
    const s = new Subscription();
    expect(s.replace([])).toEqual([]);
    expect(s.isWildcard).toBe(true);
    s.replace([]);
    expect(s.isWildcard).toBe(true);
    expect(s.covers('anything')).toBe(true);
  });

  it('follows the protocol example: "*" and A, then A, then an empty list meaning nothing', () => {
    const s = new Subscription();
    s.replace([]);
    expect(s.replace(['*', 'A'])).toEqual(['A']);
    expect(s.isWildcard).toBe(true);
    expect(s.replace(['A'])).toEqual([]);
    expect(s.isWildcard).toBe(false);
    expect(s.covers('B')).toBe(false);
    s.replace([]);
    expect(s.isWildcard).toBe(false);
    expect(s.covers('A')).toBe(false);
    expect([...s.names]).toEqual([]);
  });

  it('returns only the names a list adds', () => {
    const s = new Subscription();
    expect(s.replace(['a', 'b'])).toEqual(['a', 'b']);
    expect(s.replace(['b', 'c'])).toEqual(['c']);
    expect([...s.names]).toEqual(['b', 'c']);
  });
});

describe('Subscription, incremental', () => {
  it('follows the protocol example: legacy wildcard, add A, drop "*", drop A', () => {
    const s = new Subscription();
    s.update([], []);
    expect(s.isWildcard).toBe(true);
    expect(s.update(['A'], [])).toEqual(['A']);
    expect(s.isWildcard).toBe(true);
    s.update([], ['*']);
    expect(s.isWildcard).toBe(false);
    expect(s.covers('A')).toBe(true);
    s.update([], ['A']);
    expect(s.covers('A')).toBe(false);
    // Empty again, but not a wildcard: the stream has named resources before.
    s.update([], []);
    expect(s.isWildcard).toBe(false);
  });

  it('starts without the wildcard when the first request names resources', () => {
    const s = new Subscription();
    expect(s.update(['x'], [])).toEqual(['x']);
    expect(s.isWildcard).toBe(false);
    expect(s.update(['*', 'y'], [])).toEqual(['y']);
    expect(s.isWildcard).toBe(true);
  });

  it('ignores unsubscribing a name it never had', () => {
    const s = new Subscription();
    s.update(['x'], []);
    s.update([], ['ghost']);
    expect([...s.names]).toEqual(['x']);
  });
});
