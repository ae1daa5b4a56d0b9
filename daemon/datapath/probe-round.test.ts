import { describe, expect, it } from 'vitest';
import { changesLoggedEach, probeSlices, sliceStepMs, summarizeChanges, type VerdictChange } from './probe-round.ts';

describe('probeSlices', () => {
  it('spreads 5,000 peers across the interval less the timeout, each peer once, in bounded slices', () => {
    const slices = probeSlices(5000, 5000, 1000);
    expect(slices[0]).toMatchObject({ from: 0, atMs: 0 });
    expect(slices.at(-1)!.to).toBe(5000);
    expect(slices.at(-1)!.atMs).toBeLessThanOrEqual(5000 - 1000 - sliceStepMs);
    for (let i = 1; i < slices.length; i++) {
      expect(slices[i]!.from).toBe(slices[i - 1]!.to);
      expect(slices[i]!.atMs - slices[i - 1]!.atMs).toBeGreaterThanOrEqual(sliceStepMs - 1e-9);
    }
    expect(Math.max(...slices.map((s) => s.to - s.from))).toBeLessThanOrEqual(Math.ceil(5000 / 79));
  });

  it('gives a few peers a slice each, and a window too short for steps one slice at once', () => {
    expect(probeSlices(3, 5000, 1000).map((s) => [s.from, s.to, Math.round(s.atMs)])).toEqual([[0, 1, 0], [1, 2, 1975], [2, 3, 3950]]);
    expect(probeSlices(40, 1000, 1000)).toEqual([{ from: 0, to: 40, atMs: 0 }]);
    expect(probeSlices(0, 5000, 1000)).toEqual([]);
  });
});

describe('summarizeChanges', () => {
  it('sums up what is past the first few changes, by verdict', () => {
    const changes: VerdictChange[] = Array.from({ length: 5000 }, (_, i) => ({ peer: `n${i}`, from: 'healthy', to: i % 2 ? 'underlay' : 'vtep' }));
    expect(summarizeChanges(changes.slice(0, changesLoggedEach))).toBeUndefined();
    expect(summarizeChanges(changes)).toEqual({
      msg: `${5000 - changesLoggedEach} more peers changed path health this round`,
      fields: { to: { vtep: 2495, underlay: 2495 }, examples: ['n10', 'n11', 'n12', 'n13', 'n14'] },
    });
  });
});
