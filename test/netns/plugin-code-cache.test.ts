// The plugins' compile cache (lib/cni/code-cache.ts) as the built executables use it: made on a command's
// first run, used after, replaced when V8 rejects it or when anyone but root could have written it, never
// made when turned off, and never needed: a plugin without one still works. A command no runtime sends
// (the plugin answers it with an error after running its code) has its cache filed under `other`, which
// keeps these files apart from other tests'.
import { chmodSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cacheFileName } from '../../lib/cni/code-cache.ts';
import { track } from './testing/cleanup.ts';
import { distBin } from './testing/cni.ts';
import { run } from './testing/command.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';

cleanupAfterAll();

const dir = '/run/weft/code-cache';
const command = 'WTCACHETEST';

describeAsRoot('plugin compile cache', () => {
  // The Node plugin itself (the launcher, dist/bin/bridge, runs it when no weftd serves the call).
  const plugin = distBin('weft-plugins/bridge');
  const runPlugin = (env: Record<string, string> = {}, prefix: string[] = []) => {
    const [file, ...args] = [...prefix, plugin];
    const result = run(file!, args, { env: { PATH: process.env.PATH ?? '', CNI_COMMAND: command, ...env } });
    // The plugin ran its code: the spec's answer to an unknown command.
    expect(JSON.parse(result.stdout)).toMatchObject({ code: 4, msg: `unknown CNI_COMMAND: ${command}` });
    return result;
  };
  const ours = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('bridge-') && f.endsWith('-other.v8')) : []);

  track(`files ${dir}/bridge-*-other.v8`, () => {
    for (const f of ours()) rmSync(join(dir, f), { force: true });
  });

  it('is made on a command’s first run, root’s alone, and named by the code’s hash and the command', () => {
    for (const f of ours()) rmSync(join(dir, f));
    runPlugin();
    const [file] = ours();
    expect(file).toMatch(/^bridge-[0-9a-f]{32}-other\.v8$/);
    expect(file).toBe(cacheFileName({ name: 'bridge', hash: file!.split('-')[1]! }, command));
    const stats = statSync(join(dir, file!));
    expect([stats.uid, stats.mode & 0o777, statSync(dir).mode & 0o777]).toEqual([0, 0o600, 0o700]);
  });

  it('is used as it is on later runs', () => {
    const path = join(dir, ours()[0]!);
    const before = statSync(path);
    runPlugin();
    const after = statSync(path);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('is replaced when V8 rejects it, and the plugin works meanwhile', () => {
    const path = join(dir, ours()[0]!);
    writeFileSync(path, Buffer.alloc(4096, 0x5a), { mode: 0o600 });
    runPlugin();
    expect(statSync(path).size).not.toBe(4096);
  });

  it('is not used, and replaced, when others could have written it', () => {
    const path = join(dir, ours()[0]!);
    const before = statSync(path);
    chmodSync(path, 0o666);
    runPlugin();
    const after = statSync(path);
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o600);
  });

  it('is neither read nor made with WEFT_CODE_CACHE=off', () => {
    for (const f of ours()) rmSync(join(dir, f));
    runPlugin({ WEFT_CODE_CACHE: 'off' });
    expect(ours()).toEqual([]);
  });

  it('is not needed: a plugin run by another user, who cannot reach it, still works', () => {
    runPlugin({}, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    expect(ours()).toEqual([]);
  });
});
