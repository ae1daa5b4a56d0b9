import { expect, it } from 'vitest';
import { randomVethName } from './veth.ts';

it('names host ends veth + 8 hex digits, different each time', () => {
  const names = new Set(Array.from({ length: 100 }, randomVethName));
  expect(names.size).toBe(100);
  for (const name of names) expect(name).toMatch(/^veth[0-9a-f]{8}$/);
});
