// The overlay plugin's verbs that need no kernel, through the skeleton core: no lease yet, idempotent DEL,
// bad input refused with nothing written. (Attaching containers: test/netns/overlay-plugin.test.ts.)
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPluginCore } from '../../lib/cni/skel.ts';
import { overlayPlugin } from './plugin.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wt-overlay-core-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function invoke(command: string, extra: object = {}, env: Record<string, string> = {}) {
  const config = {
    cniVersion: '1.1.0', name: 'weft', type: 'overlay',
    subnetFile: join(dir, 'subnet.env'), dataDir: join(dir, 'saved'), socket: join(dir, 'weftd.sock'), ...extra,
  };
  const attachment = command === 'STATUS' || command === 'GC' ? {} : { CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/wt-none' };
  return runPluginCore(overlayPlugin, { env: { CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin', ...attachment, ...env }, stdin: JSON.stringify(config) });
}

const errorOf = (stdout: string) => JSON.parse(stdout) as { code: number; msg: string; details?: string };

describe('overlayPlugin without a lease', () => {
  it('ADD answers 11 (try again later) saying the lease is missing, and saves nothing', async () => {
    const out = await invoke('ADD');
    expect(out.exitCode).toBe(1);
    expect(errorOf(out.stdout)).toMatchObject({ code: 11, msg: expect.stringMatching(/not written a subnet lease yet/) });
    expect(existsSync(join(dir, 'saved'))).toBe(false);
  });

  it('STATUS answers 50', async () => {
    const out = await invoke('STATUS');
    expect(errorOf(out.stdout).code).toBe(50);
  });

  it('DEL with nothing saved succeeds, also when weftd is not running', async () => {
    const out = await invoke('DEL');
    expect(out).toMatchObject({ exitCode: 0, stdout: '' });
    expect(out.stderr).toMatch(/deregister the endpoint skipped: weftd is not reachable/);
  });

  it('GC needs the valid attachments', async () => {
    expect(errorOf((await invoke('GC')).stdout).code).toBe(7);
    expect((await invoke('GC', { 'cni.dev/valid-attachments': [] })).exitCode).toBe(0);
  });
});

describe('overlayPlugin bad input', () => {
  it('answers with the spec\'s codes and writes nothing', async () => {
    expect(errorOf((await invoke('ADD', { subnetFile: 'relative' })).stdout).code).toBe(7);
    expect(errorOf((await invoke('ADD', { delegate: { ipam: { type: 'dhcp' } } })).stdout).code).toBe(7);
    expect(errorOf((await invoke('ADD', {}, { CNI_IFNAME: 'a-name-longer-than-15' })).stdout).code).toBe(4);
    expect(errorOf((await invoke('ADD', { cniVersion: '9.9.9' })).stdout).code).toBe(1);
    const malformed = await runPluginCore(overlayPlugin, {
      env: { CNI_COMMAND: 'ADD', CNI_PATH: '/opt/cni/bin', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/x' }, stdin: '{"cniVersion":',
    });
    expect(errorOf(malformed.stdout).code).toBe(6);
    expect(readdirSync(dir)).toEqual([]);
  });
});
