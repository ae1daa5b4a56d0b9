import { describe, expect, it } from 'vitest';
import { interfaceNameProblem } from './interface-name.ts';

describe('interfaceNameProblem', () => {
  it.each(['eth0', 'cni0', 'a', 'x'.repeat(15), 'wt.br-0_1', 'é'.repeat(7)])('accepts %j', (name) => {
    expect(interfaceNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['', 'interface name is empty'],
    ['x'.repeat(16), 'interface name is too long'],
    ['é'.repeat(8), 'interface name is too long'],
    ['.', 'interface name is . or ..'],
    ['..', 'interface name is . or ..'],
    ['a/b', 'interface name contains / or : or whitespace characters'],
    ['a:b', 'interface name contains / or : or whitespace characters'],
    ['a b', 'interface name contains / or : or whitespace characters'],
    ['a\u0085b', 'interface name contains / or : or whitespace characters'],
    ['hb\u0000br', 'interface name contains a NUL byte'],
    ['\u0000', 'interface name contains a NUL byte'],
    ['a\uFFFDb', 'interface name is not valid UTF-8'],
  ])('refuses %j: %s', (name, msg) => {
    expect(interfaceNameProblem(name)?.msg).toBe(msg);
  });
});
