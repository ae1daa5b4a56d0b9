import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheFileName, removeOtherBuilds } from './code-cache.ts';

describe('cacheFileName', () => {
  const code = { name: 'bridge', hash: '0123456789abcdef0123456789abcdef' };

  it('names the plugin, its code’s hash and the command', () => {
    expect(cacheFileName(code, 'ADD')).toBe('bridge-0123456789abcdef0123456789abcdef-ADD.v8');
  });

  it('files anything but a plain command word under "other", so the name cannot leave the folder', () => {
    for (const command of [undefined, '', 'add', '../../etc/x', 'ADD/..', 'A'.repeat(17)]) {
      expect(cacheFileName(code, command)).toBe('bridge-0123456789abcdef0123456789abcdef-other.v8');
    }
  });
});

describe('removeOtherBuilds', () => {
  it('removes the plugin’s caches of other builds and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-code-cache-'));
    try {
      const files = ['bridge-aaaa-ADD.v8', 'bridge-aaaa-DEL.v8', 'bridge-bbbb-ADD.v8', 'bridge-bbbb-ADD.v8.123.partial', 'host-local-bbbb-ADD.v8', 'overlay-cccc-DEL.v8'];
      for (const f of files) writeFileSync(join(dir, f), '');
      removeOtherBuilds(dir, { name: 'bridge', hash: 'aaaa' });
      expect(readdirSync(dir).sort()).toEqual(['bridge-aaaa-ADD.v8', 'bridge-aaaa-DEL.v8', 'host-local-bbbb-ADD.v8', 'overlay-cccc-DEL.v8']);
      // `host-local` starts with `host-`: a plugin named `host` would not touch it (the part after is no hash).
      removeOtherBuilds(dir, { name: 'host', hash: 'dddd' });
      expect(readdirSync(dir)).toContain('host-local-bbbb-ADD.v8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
