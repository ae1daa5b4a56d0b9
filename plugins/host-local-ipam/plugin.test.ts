// The verbs run in-process through the skeleton core, as the bridge plugin runs host-local.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPluginCore } from '../../lib/cni/skel.ts';
import { hostLocalPlugin } from './plugin.ts';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'wt-hl-core-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function invoke(command: string, extra: object = {}, containerId = 'c1') {
  const config = {
    cniVersion: '1.1.0', name: 'wtcore', type: 'bridge',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.70.0.0/30' }], [{ subnet: 'fd70::/64' }]] },
    ...extra,
  };
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/wt-x', CNI_PATH: '/opt/cni/bin' };
  return runPluginCore(hostLocalPlugin, { env, stdin: JSON.stringify(config) });
}

describe('hostLocalPlugin in-process', () => {
  it('runs every verb through the skeleton core', async () => {
    const add = await invoke('ADD');
    expect(add.exitCode).toBe(0);
    const result = JSON.parse(add.stdout);
    expect(result.ips).toEqual([{ address: '10.70.0.2/30', gateway: '10.70.0.1' }, { address: 'fd70::2/64', gateway: 'fd70::1' }]);
    expect((await invoke('CHECK', { prevResult: result })).exitCode).toBe(0);
    // The /30 holds one address: full now.
    expect(JSON.parse((await invoke('STATUS')).stdout).code).toBe(50);
    expect(JSON.parse((await invoke('ADD', {}, 'c2')).stdout).code).toBe(101);
    expect((await invoke('GC', { 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] })).exitCode).toBe(0);
    expect(readdirSync(join(dataDir, 'wtcore')).filter((name) => !name.startsWith('l'))).toEqual(['10.70.0.2', 'fd70::2']);
    expect((await invoke('GC', { 'cni.dev/valid-attachments': [] })).exitCode).toBe(0);
    expect(readdirSync(join(dataDir, 'wtcore')).sort()).toEqual(['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    expect((await invoke('STATUS')).exitCode).toBe(0);
  });

  it('CHECK fails when the ADD result names an address the attachment no longer holds', async () => {
    const result = JSON.parse((await invoke('ADD')).stdout);
    result.ips[1].address = 'fd70::9/64';
    const check = JSON.parse((await invoke('CHECK', { prevResult: result })).stdout);
    expect([check.code, check.msg]).toEqual([3, 'host-local: fd70::9 is not allocated to container c1']);
  });
});
