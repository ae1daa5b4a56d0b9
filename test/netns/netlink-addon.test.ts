// How a bundled executable puts its embedded addon on disk before loading it: once, under a content
// hash, and never from a file or directory anyone but root could have written. Needs root (ownership).
import { chmodSync, closeSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { addonFileName, materializeAddon, type NativeNetlink } from '../../lib/netlink/addon.ts';
import { repoRoot } from './testing/cni.ts';
import { createTempDir } from './testing/files.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';

cleanupAfterAll();

describeAsRoot('netlink: embedded addon', () => {
  let base64: string;
  let root: string;

  beforeAll(() => {
    base64 = readFileSync(join(repoRoot, 'build/weft_netlink.node')).toString('base64');
    root = createTempDir('addon');
  });

  it('writes the addon once under a name derived from its content, root-owned and read-only, and it loads', () => {
    const dir = join(root, 'run-weft');
    const file = materializeAddon(base64, dir);
    expect(file).toBe(join(dir, addonFileName(base64)));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const stats = statSync(file);
    expect(stats.uid).toBe(0);
    expect(stats.mode & 0o777).toBe(0o500);
    expect(readFileSync(file).toString('base64')).toBe(base64);

    expect(materializeAddon(base64, dir)).toBe(file);
    expect(statSync(file).ino).toBe(stats.ino); // not written again
    expect(materializeAddon(Buffer.from('other build').toString('base64'), dir)).not.toBe(file);

    const module = { exports: {} as NativeNetlink };
    process.dlopen(module, file);
    const fd = module.exports.openNetlink(undefined, 0);
    expect(fd).toBeGreaterThan(2);
    closeSync(fd);
  });

  it('refuses a directory others can write to', () => {
    const dir = join(root, 'open-dir');
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o777);
    expect(() => materializeAddon(base64, dir)).toThrow(/writable by group or others/);
  });

  it('refuses a file in its place that others can write to, or that is not a plain file', () => {
    const dir = join(root, 'tampered');
    const name = materializeAddon(base64, dir);
    chmodSync(name, 0o666);
    expect(() => materializeAddon(base64, dir)).toThrow(/writable by group or others/);

    const linked = join(root, 'linked');
    const target = join(root, 'elsewhere.node');
    writeFileSync(target, Buffer.from(base64, 'base64'), { mode: 0o500 });
    mkdirSync(linked, { mode: 0o700 });
    symlinkSync(target, join(linked, addonFileName(base64)));
    expect(() => materializeAddon(base64, linked)).toThrow(/is not a file/);
  });
});
