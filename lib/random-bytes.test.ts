import { describe, expect, it } from 'vitest';
import { randomBytes } from './random-bytes.ts';

describe('randomBytes', () => {
  it('returns the length asked for, different every time', () => {
    const draws = Array.from({ length: 50 }, () => randomBytes(8));
    expect(draws.every((b) => b.length === 8)).toBe(true);
    expect(new Set(draws.map((b) => b.toString('hex'))).size).toBe(50);
  });
});
