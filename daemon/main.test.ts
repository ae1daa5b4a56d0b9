// weftd's command line as a process, on the paths that stop before the daemon starts: a malformed command
// line exits 2 with one log line naming the flags; a config file that cannot be read exits 1 with code 7.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleExecutable } from '../lib/testing/bundle-executable.ts';

let root: string;
let weftd: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'weftd-main-'));
  writeFileSync(join(root, 'embedded.json'), '{"store":{"type":"embedded"}}');
  weftd = await bundleExecutable('daemon/main.ts', join(root, 'weftd'));
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Runs weftd; its one log line on stderr, parsed. */
function run(...args: string[]) {
  const out = spawnSync(process.execPath, [weftd, ...args], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH! }, timeout: 10_000 });
  const lines = out.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  const { msg, error, code } = JSON.parse(lines[0]!) as { msg: string; error: string; code?: number };
  return { status: out.status, msg, error, code };
}

describe('weftd', () => {
  it.each([
    [['--config'], 'Not enough arguments following: config'],
    [['--config', ''], '--config needs a value'],
    [['--config', 'a', '--config', 'b'], '--config is given more than once'],
    [['--node-name', 'a', '--node-name', 'b'], '--node-name is given more than once'],
    [['--store', 'embedded', '--etcd-endpoints', 'http://10.0.0.1:2379'], '--etcd-endpoints is for an etcd store, but --store is embedded'],
    [['--config', 'embedded.json', '--etcd-prefix', '/x'], '--etcd-prefix is for an etcd store, but the config file\'s store is "embedded" (--store changes it)'],
    [['--store-path', '/x', '--etcd-endpoints', 'http://10.0.0.1:2379'], '--store-path and --etcd-endpoints are for different stores'],
  ])('takes %j as a bad command line: exit 2', (args, error) => {
    expect(run(...args)).toEqual({ status: 2, msg: 'bad command line', error, code: undefined });
  });

  it.each([
    ['missing.json', 'not found'],
    ['.', 'is not a regular file'],
    ['/dev/zero', 'is not a regular file'],
  ])('reports a config file %s as code 7 naming it: exit 1', (path, what) => {
    expect(run('--config', path)).toEqual({ status: 1, msg: 'weftd failed', error: `invalid weftd config: ${path}: ${what}`, code: 7 });
  });
});
