// The weft command line as a process: usage errors exit 2 and failures exit 1, each with one line on
// stderr and no stack trace.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleExecutable } from '../lib/testing/bundle-executable.ts';

let root: string;
let weft: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'weft-cli-'));
  // weft installs the plugins beside it and the configs in ../../conf/net.d.
  const binDir = join(root, 'dist/bin');
  mkdirSync(binDir, { recursive: true });
  mkdirSync(join(root, 'conf/net.d'), { recursive: true });
  writeFileSync(join(binDir, 'bridge'), '#!/bin/sh\n');
  writeFileSync(join(root, 'conf/net.d/10-weft-bridge.conflist'), '{"cniVersion":"1.0.0","name":"weft-bridge","plugins":[{"type":"bridge"}]}');
  // Unbundled, the netlink addon (install reads the host's routes) loads from build/ beside dist/.
  symlinkSync(new URL('../build', import.meta.url).pathname, join(root, 'build'));
  weft = await bundleExecutable('cli/main.ts', join(binDir, 'weft'));
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function run(...args: string[]) {
  const out = spawnSync(process.execPath, [weft, ...args], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH! } });
  return { stdout: out.stdout, stderr: out.stderr, status: out.status };
}

describe('weft install', () => {
  const file = () => {
    const path = join(root, 'a-file');
    writeFileSync(path, '');
    return path;
  };

  it.each([
    ['--bin-dir under a file', () => ['--bin-dir', join(file(), 'bin')], () => `weft install: creating ${join(root, 'a-file/bin')}: ENOTDIR`],
    ['--conf-dir a file', () => ['--bin-dir', join(root, 'b1'), '--conf-dir', file()], () => `weft install: creating ${join(root, 'a-file')}: exists and is not a directory`],
    ['a plugin\'s target a directory', () => {
      mkdirSync(join(root, 'b2/bridge'), { recursive: true });
      return ['--bin-dir', join(root, 'b2')];
    }, () => `weft install: installing ${join(root, 'b2/bridge')}: EISDIR`],
  ])('reports %s as the error JSON and one line, exit 1', (_name, args, line) => {
    const out = run('install', ...args());
    expect(out.status).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 5 });
    expect(out.stderr.split('\n')).toHaveLength(2);
    expect(out.stderr).toContain(line());
  });

  it.each([
    [['--bin-dir'], 'weft install: Not enough arguments following: bin-dir'],
    [['--bin-dir', ''], 'weft install: --bin-dir needs a value'],
    [['--bin-dir', 'a', '--bin-dir', 'b'], 'weft install: --bin-dir is given more than once'],
    [['--conf-dir', 'a', '--conf-dir', 'b'], 'weft install: --conf-dir is given more than once'],
    [['--cni-version', '0.2.0'], 'weft install: Invalid values:\n  Argument: cni-version, Given: "0.2.0", Choices: "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"'],
  ])('takes %j as a usage error: one line, exit 2, nothing installed', (args, line) => {
    const out = run('install', ...args);
    expect(out).toEqual({ stdout: '', stderr: `${line} (see weft install --help)\n`, status: 2 });
    expect(readdirSync(root)).not.toContain('a');
  });

  it('installs into relative directories resolved against the working directory, and says where', () => {
    const out = run('install', '--bin-dir', 'rel/bin', '--conf-dir', 'rel/conf');
    // The lines after the default network's say how runtimes choose (install.test.ts).
    out.stdout = out.stdout.split('\n').slice(0, 3).join('\n');
    expect(out).toEqual({
      stdout: [
        `installed ${join(root, 'rel/bin/bridge')}`,
        `installed ${join(root, 'rel/conf/90-weft-bridge.conflist')}: network weft-bridge, cniVersion 1.0.0`,
        `default network in ${join(root, 'rel/conf')}: weft-bridge (90-weft-bridge.conflist), the directory held no other network`,
      ].join('\n'),
      stderr: 'weft install: plugin host-local not built, skipped\nweft install: plugin overlay not built, skipped\n',
      status: 0,
    });
  });
});

describe('weft\'s other commands', () => {
  it('take a repeated one-value option as a usage error', () => {
    expect(run('add', 'net', '/var/run/netns/x', '--cache-dir', 'a', '--cache-dir', 'b')).toEqual({
      stdout: '',
      stderr: 'weft add: --cache-dir is given more than once (see weft add --help)\n',
      status: 2,
    });
  });
});
