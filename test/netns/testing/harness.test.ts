// The harness itself: names, namespaces, simulated hosts and cleanup by exact name.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { expect, it } from 'vitest';
import { cleanupAll, pending } from './cleanup.ts';
import { parseJsonOutput, run } from './command.ts';
import { runPlugin } from './cni.ts';
import { createTempDir } from './files.ts';
import { createHost, createUnderlay, underlayInterface } from './hosts.ts';
import { maxNameLength, uniqueName } from './names.ts';
import { createNetns, netnsExists } from './netns.ts';
import { installRecorder, readInvocations } from '../../../lib/cni/testing/recorder.ts';
import { cleanupAfterAll, describeAsRoot } from './suite.ts';

cleanupAfterAll();

it('makes unique names of at most 15 characters', () => {
  const names = new Set(Array.from({ length: 200 }, () => uniqueName('abcdefgh')));
  expect(names.size).toBe(200);
  for (const name of names) expect(name).toMatch(/^wtabcdefgh[0-9a-v]{5}$/);
  expect(uniqueName().length).toBeLessThanOrEqual(maxNameLength);
  expect(() => uniqueName('abcdefghi')).toThrow(/longer than 8/);
  expect(() => uniqueName('Bad-')).toThrow(/a-z and 0-9/);
});

describeAsRoot('harness namespaces', () => {
  it('creates a namespace and removes it by name, also through cleanupAll', () => {
    const a = createNetns('hn');
    const b = createNetns('hn');
    expect(netnsExists(a.name) && netnsExists(b.name)).toBe(true);
    expect(a.ipJson<Array<{ ifname: string; flags: string[] }>>('link', 'show', 'lo')[0]!.flags).not.toContain('UP');
    a.remove();
    expect(netnsExists(a.name)).toBe(false);
    expect(pending()).toEqual([`netns ${b.name}`]);
    expect(cleanupAll()).toEqual([]);
    expect(netnsExists(b.name)).toBe(false);
  });

  it('cables simulated hosts into an underlay bridge inside its own namespace', () => {
    const underlay = createUnderlay();
    const one = createHost(underlay, '192.0.2.1/24');
    const two = createHost(underlay, '192.0.2.2/24');
    const ping = one.netns.exec('ping', ['-c', '1', '-W', '2', '192.0.2.2']);
    expect(ping.status, ping.stdout + ping.stderr).toBe(0);
    const ports = underlay.netns.ipJson<Array<{ ifname: string; master?: string }>>('link', 'show', 'master', underlay.bridge);
    expect(ports.map((p) => p.ifname).sort()).toEqual([one.netns.name, two.netns.name].sort());
    expect(two.netns.ipJson<Array<{ ifname: string }>>('link', 'show', underlayInterface)[0]!.ifname).toBe('ul0');

    expect(cleanupAll()).toEqual([]);
    for (const ns of [underlay.netns, one.netns, two.netns]) expect(netnsExists(ns.name)).toBe(false);
    // Nothing leaked into the root namespace.
    expect(run('ip', ['link', 'show', one.netns.name]).status).not.toBe(0);
  });

  it('removes what a process registered when it exits or is killed without cleaning up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-harness-'));
    try {
      const child = join(dir, 'child.mjs');
      await build({
        stdin: {
          contents: `import { createNetns } from './netns.ts';
            process.stdout.write(createNetns('ex').name);
            if (process.argv[2] === 'signal') { setTimeout(() => {}, 10_000); process.kill(process.pid, 'SIGTERM'); }
            else process.exit(3);`,
          resolveDir: import.meta.dirname,
          loader: 'ts',
        },
        bundle: true, platform: 'node', format: 'esm', outfile: child, logLevel: 'warning',
      });
      const exited = run(process.execPath, [child]);
      expect(exited.status, exited.stderr).toBe(3);
      const killed = run(process.execPath, [child, 'signal']);
      expect(killed.status, killed.stderr).toBe(128 + 15);
      for (const name of [exited.stdout, killed.stdout]) {
        expect(name).toMatch(/^wtex/);
        expect(netnsExists(name)).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs a plugin against a namespace with only PATH and the CNI variables in its environment', () => {
    const ns = createNetns('hp');
    const dir = createTempDir('harness');
    installRecorder(dir, ['rec']);
    const record = `${dir}/record.jsonl`;
    const config = { cniVersion: '1.0.0', name: 'n', type: 'rec', record, loopbackUp: true, interface: true };
    const add = runPlugin(`${dir}/rec`, { command: 'ADD', containerId: 'c1', netns: ns.path, ifname: 'eth0', path: dir, config });
    expect(add.status, add.stderr).toBe(0);
    expect(parseJsonOutput(add)).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: ns.path }], ips: [] });
    expect(ns.ipJson<Array<{ flags: string[] }>>('link', 'show', 'lo')[0]!.flags).toContain('UP');
    const [call] = readInvocations(record);
    // PWD comes from /bin/sh, the recorder's wrapper.
    const seen = Object.keys(call!.env).filter((key) => key !== 'PWD').sort();
    expect(seen).toEqual(['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_NETNS', 'CNI_PATH', 'PATH']);

    const malformed = runPlugin(`${dir}/rec`, { command: 'ADD', containerId: 'c1', netns: ns.path, ifname: 'eth0', path: dir, config: '{' });
    expect(malformed.status).toBe(1);
    expect(parseJsonOutput(malformed)).toMatchObject({ code: 6 });
  });
});
