// Side by side with the reference plugin (Debian's containernetworking-plugins): a store written by one
// is read and released by the other, and both lock it the same way.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installedHostLocal, REFERENCE_HOST_LOCAL, runPlugin, runPluginAsync, type CniCall } from './testing/plugin-exec.ts';

const haveReference = existsSync(REFERENCE_HOST_LOCAL);
if (!haveReference) console.warn(`skipping: the reference plugin ${REFERENCE_HOST_LOCAL} is not installed (apt-get install containernetworking-plugins)`);

let ours: string;
let dataDir: string;
beforeAll(() => {
  ours = installedHostLocal();
});
afterAll(() => {
  rmSync(join(ours, '..'), { recursive: true, force: true });
});
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'wt-hl-ref-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

// The reference speaks CNI up to 1.0.0.
const config = () => ({
  cniVersion: '1.0.0',
  name: 'wtref',
  type: 'bridge',
  ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.30.0.0/24' }], [{ subnet: 'fd30::/120' }]] },
});
const run = (binary: string, command: CniCall['command'], containerId: string) =>
  runPlugin(binary, { command, containerId, config: config() });
const addresses = (result: { json: { ips: { address: string }[] } }) => result.json.ips.map((ip) => ip.address);
const storeFiles = () => readdirSync(join(dataDir, 'wtref')).sort();

describe.skipIf(!haveReference)('against the reference host-local', () => {
  it('ours reads, continues and releases a store the reference wrote', () => {
    const reference = REFERENCE_HOST_LOCAL;
    expect(addresses(run(reference, 'ADD', 'r1'))).toEqual(['10.30.0.2/24', 'fd30::2/120']);
    expect(addresses(run(reference, 'ADD', 'r2'))).toEqual(['10.30.0.3/24', 'fd30::3/120']);
    // Round robin goes on from the reference's last_reserved_ip files.
    expect(addresses(run(ours, 'ADD', 'o1'))).toEqual(['10.30.0.4/24', 'fd30::4/120']);
    expect(run(ours, 'ADD', 'r1').json.code).toBe(102);
    expect(run(ours, 'CHECK', 'r2').code).toBe(0);
    expect(run(ours, 'DEL', 'r1').code).toBe(0);
    expect(storeFiles()).toEqual(['10.30.0.3', '10.30.0.4', 'fd30::3', 'fd30::4', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  });

  it('the reference reads, continues and releases a store ours wrote', () => {
    const reference = REFERENCE_HOST_LOCAL;
    expect(addresses(run(ours, 'ADD', 'o1'))).toEqual(['10.30.0.2/24', 'fd30::2/120']);
    expect(addresses(run(ours, 'ADD', 'o2'))).toEqual(['10.30.0.3/24', 'fd30::3/120']);
    expect(addresses(run(reference, 'ADD', 'r1'))).toEqual(['10.30.0.4/24', 'fd30::4/120']);
    expect(run(reference, 'ADD', 'o1').json.msg).toMatch(/duplicate allocation is not allowed/);
    expect(run(reference, 'CHECK', 'o2').code).toBe(0);
    expect(run(reference, 'DEL', 'o1').code).toBe(0);
    expect(storeFiles()).toEqual(['10.30.0.3', '10.30.0.4', 'fd30::3', 'fd30::4', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    expect(readFileSync(join(dataDir, 'wtref', '10.30.0.3'), 'latin1')).toBe('o2\r\neth0');
  });

  it('both lock the store alike: 20 of ours and 20 of theirs at once get 40 distinct addresses', async () => {
    const ids = Array.from({ length: 40 }, (_, n) => `mix${n}`);
    const adds = await Promise.all(ids.map((containerId, n) =>
      runPluginAsync(n % 2 === 0 ? ours : REFERENCE_HOST_LOCAL, { command: 'ADD', containerId, config: config() })));
    expect(adds.filter((add) => add.code !== 0).map((add) => add.stdout)).toEqual([]);
    const v4 = adds.map((add) => add.json.ips[0].address);
    const v6 = adds.map((add) => add.json.ips[1].address);
    expect(new Set(v4).size).toBe(40);
    expect(new Set(v6).size).toBe(40);
    const dels = await Promise.all(ids.map((containerId, n) =>
      runPluginAsync(n % 2 === 1 ? ours : REFERENCE_HOST_LOCAL, { command: 'DEL', containerId, config: config() })));
    expect(dels.filter((del) => del.code !== 0).map((del) => del.stdout)).toEqual([]);
    expect(storeFiles()).toEqual(['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  }, 60_000);
});

describe('the store lock', () => {
  it('is flock(2) on <store>/lock, as the reference takes it: an ADD waits while another holder has it', async () => {
    expect(run(ours, 'ADD', 'first').code).toBe(0);
    const lockFile = join(dataDir, 'wtref', 'lock');
    const holder = spawn('flock', [lockFile, 'sleep', '1']);
    try {
      while (spawnSync('flock', ['--nonblock', lockFile, 'true']).status === 0) await new Promise((r) => setTimeout(r, 10));
      const started = Date.now();
      const add = runPluginAsync(ours, { command: 'ADD', containerId: 'second', config: config() });
      await new Promise((r) => setTimeout(r, 300));
      expect(storeFiles().filter((name) => name.startsWith('10.'))).toEqual(['10.30.0.2']);
      const result = await add;
      expect(result.code).toBe(0);
      expect(Date.now() - started).toBeGreaterThan(500);
    } finally {
      holder.kill();
    }
  });
});
