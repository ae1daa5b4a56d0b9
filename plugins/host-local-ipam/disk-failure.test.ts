// A store on a read-only or full disk: clear code-5 errors, nothing lost, nothing half-written. Each case
// runs in a private mount namespace (unshare -m) over a small tmpfs, so the host's mounts are untouched.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cniEnv, installedHostLocal } from './testing/plugin-exec.ts';

const canUnshare = spawnSync('unshare', ['--mount', 'true']).status === 0;
if (!canUnshare) console.warn('skipping: unshare --mount is not permitted here (needs root)');

let binary: string;
let work: string;
beforeAll(() => {
  binary = installedHostLocal();
  work = mkdtempSync(join(tmpdir(), 'wt-hl-disk-'));
});
afterAll(() => {
  rmSync(join(binary, '..'), { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

interface Step {
  name: string;
  /** A plugin call, or a shell command run as is. */
  command: 'ADD' | 'DEL' | 'STATUS' | { shell: string };
  containerId?: string;
}

/** Runs the steps in one private mount namespace with a tmpfs of `size` on the store; returns each output. */
function inMountNamespace(size: string, stepsFor: (store: string) => Step[]): Record<string, { rc: number; out: string }> {
  const store = join(work, `store-${Math.random().toString(36).slice(2, 8)}`);
  const out = join(work, `out-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(store);
  mkdirSync(out);
  const steps = stepsFor(store);
  const config = join(out, 'config.json');
  writeFileSync(config, JSON.stringify({
    cniVersion: '1.1.0', name: 'wtnet', type: 'bridge', ipam: { type: 'host-local', dataDir: store, subnet: '10.40.0.0/24' },
  }));
  const lines = [`mount -t tmpfs -o size=${size} tmpfs '${store}'`];
  for (const step of steps) {
    const run = typeof step.command === 'object'
      ? step.command.shell
      : `env -i ${Object.entries(cniEnv({ command: step.command, containerId: step.containerId, config: {} })).map(([k, v]) => `${k}='${v}'`).join(' ')} '${binary}' < '${config}'`;
    lines.push(`(${run}) > '${out}/${step.name}' 2>&1; echo $? > '${out}/${step.name}.rc'`);
  }
  const child = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', lines.join('\n')], { encoding: 'utf8' });
  expect(child.status, child.stderr).toBe(0);
  return Object.fromEntries(steps.map((step) => [step.name, {
    rc: Number(readFileSync(join(out, `${step.name}.rc`), 'utf8')),
    out: readFileSync(join(out, step.name), 'utf8'),
  }]));
}

const list = (name: string, store: string): Step => ({ name, command: { shell: `ls -1 '${store}/wtnet' | sort` } });

describe.skipIf(!canUnshare)('a store on a failing disk', () => {
  it('read-only: ADD and DEL fail with code 5, STATUS with 50, and nothing is lost', () => {
    const result = inMountNamespace('1m', (store) => [
      { name: 'add1', command: 'ADD', containerId: 'c1' },
      { name: 'ro', command: { shell: `mount -o remount,ro '${store}'` } },
      { name: 'add2', command: 'ADD', containerId: 'c2' },
      { name: 'del1', command: 'DEL', containerId: 'c1' },
      { name: 'status', command: 'STATUS' },
      list('files', store),
    ]);
    expect(result.add1!.rc).toBe(0);
    expect(result.ro!.rc).toBe(0);
    expect([result.add2!.rc, JSON.parse(result.add2!.out).code]).toEqual([1, 5]);
    expect(JSON.parse(result.add2!.out).details).toMatch(/read-only file system/i);
    expect([result.del1!.rc, JSON.parse(result.del1!.out).code]).toEqual([1, 5]);
    expect(JSON.parse(result.status!.out).code).toBe(50);
    expect(result.files!.out.split('\n').filter(Boolean)).toEqual(['10.40.0.2', 'last_reserved_ip.0', 'lock']);
  });

  it('full: ADD fails with code 5 leaving no half-written allocation, STATUS says 50, DEL still works', () => {
    const result = inMountNamespace('64k', (store) => [
      { name: 'add1', command: 'ADD', containerId: 'c1' },
      { name: 'fill', command: { shell: `dd if=/dev/zero of='${store}/filler' bs=4k 2>/dev/null; true` } },
      { name: 'add2', command: 'ADD', containerId: 'c2' },
      { name: 'status', command: 'STATUS' },
      { name: 'del1', command: 'DEL', containerId: 'c1' },
      list('files', store),
    ]);
    expect(result.add1!.rc).toBe(0);
    expect([result.add2!.rc, JSON.parse(result.add2!.out).code]).toEqual([1, 5]);
    expect(JSON.parse(result.add2!.out).details).toMatch(/no space left/i);
    expect(JSON.parse(result.status!.out).code).toBe(50);
    expect(result.del1!.rc).toBe(0);
    expect(result.files!.out.split('\n').filter(Boolean)).toEqual(['last_reserved_ip.0', 'lock']);
  });
});
