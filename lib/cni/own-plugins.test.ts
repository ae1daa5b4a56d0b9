import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOwnPluginBundle, ownInProcess, ownPluginMarker } from './own-plugins.ts';
import { definePlugin } from './skel.ts';

const root = mkdtempSync(join(tmpdir(), 'weft-own-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function install(dir: string, name: string, text: string): string {
  mkdirSync(join(root, dir), { recursive: true });
  const path = join(root, dir, name);
  writeFileSync(path, text);
  chmodSync(path, 0o755);
  return path;
}

const bundle = (name: string) => `#!/usr/bin/env node\n${ownPluginMarker(name)}\nconst x=1;\n`;
const plugin = definePlugin({ about: 'test', verbs: { add: ({ conf }) => ({ cniVersion: conf.cniVersion }), del: () => {}, check: () => {} } });

describe('own plugin bundles', () => {
  it('recognises the marker on line 2 only, for the named plugin only', () => {
    expect(isOwnPluginBundle(install('a', 'host-local', bundle('host-local')), 'host-local')).toBe(true);
    expect(isOwnPluginBundle(install('b', 'host-local', bundle('bridge')), 'host-local')).toBe(false);
    expect(isOwnPluginBundle(install('c', 'host-local', `${ownPluginMarker('host-local')}\n`), 'host-local')).toBe(false);
    expect(isOwnPluginBundle(install('d', 'host-local', '\x7fELF\x02\x01\x01\x00'), 'host-local')).toBe(false);
    expect(isOwnPluginBundle(join(root, 'missing'), 'host-local')).toBe(false);
  });

  it('recognises a native launcher by the marker as its last line', () => {
    const launcher = (name: string) => `\x7fELF\x02\x01\x01\x00${'\0'.repeat(100)}\n${ownPluginMarker(name)}\n`;
    expect(isOwnPluginBundle(install('e', 'host-local', launcher('host-local')), 'host-local')).toBe(true);
    expect(isOwnPluginBundle(install('f', 'host-local', launcher('bridge')), 'host-local')).toBe(false);
    expect(isOwnPluginBundle(install('g', 'host-local', `${launcher('host-local')}x`), 'host-local')).toBe(false);
  });

  it('runs in-process only when the first match in CNI_PATH is weft’s bundle', () => {
    const ours = join(root, 'ours');
    const reference = join(root, 'reference');
    install('ours', 'host-local', bundle('host-local'));
    install('reference', 'host-local', '\x7fELF binary');
    expect(ownInProcess('host-local', [join(root, 'empty'), ours, reference], { 'host-local': plugin })).toEqual({ 'host-local': plugin });
    expect(ownInProcess('host-local', [reference, ours], { 'host-local': plugin })).toBeUndefined();
    // Not one of ours by type, or not found at all: left to the spec's lookup and its error.
    expect(ownInProcess('static', [ours], { 'host-local': plugin })).toBeUndefined();
    expect(ownInProcess('host-local', [join(root, 'empty')], { 'host-local': plugin })).toBeUndefined();
  });
});
