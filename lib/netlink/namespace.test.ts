import { describe, expect, it } from 'vitest';
import { netnsPath } from './namespace.ts';

describe('netnsPath', () => {
  it('maps a name under /run/netns and refuses anything that is not one path component', () => {
    expect(netnsPath('cni-1234')).toBe('/run/netns/cni-1234');
    for (const bad of ['', '.', '..', 'a/b', '../x']) expect(() => netnsPath(bad)).toThrow(TypeError);
  });
});
