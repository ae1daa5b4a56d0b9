import { describe, expect, it } from 'vitest';
import { cacheFileName } from './code-cache.ts';

describe('cacheFileName', () => {
  const code = { name: 'bridge', hash: '0123456789abcdef0123456789abcdef' };

  it('names the plugin, its code’s hash and the command', () => {
    expect(cacheFileName(code, 'ADD')).toBe('bridge-0123456789abcdef0123456789abcdef-ADD.v8');
  });

  it('files anything but a CNI command under "other", so names stay few and inside the folder', () => {
    for (const command of [undefined, '', 'add', 'FOO', 'BAR', 'hasOwnProperty', '../../etc/x', 'ADD/..', 'A'.repeat(17)]) {
      expect(cacheFileName(code, command)).toBe('bridge-0123456789abcdef0123456789abcdef-other.v8');
    }
  });
});
