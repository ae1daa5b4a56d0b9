// 100 ADDs as separate processes at once against one range: the store's flock must serialize them.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installedHostLocal, runPluginAsync } from './testing/plugin-exec.ts';

const COUNT = 100;
let binary: string;
let dataDir: string;
beforeAll(() => {
  binary = installedHostLocal();
  dataDir = mkdtempSync(join(tmpdir(), 'wt-hl-conc-'));
});
afterAll(() => {
  rmSync(join(binary, '..'), { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('concurrent processes', () => {
  const ids = Array.from({ length: COUNT }, (_, n) => `ctr${n}`);

  it(`${COUNT} ADDs get ${COUNT} distinct addresses, ${COUNT} DELs leave the store empty`, async () => {
    const config = { cniVersion: '1.1.0', name: 'wtconc', type: 'bridge', ipam: { type: 'host-local', dataDir, subnet: '10.20.0.0/24' } };
    const adds = await Promise.all(ids.map((containerId) => runPluginAsync(binary, { command: 'ADD', containerId, config })));
    expect(adds.filter((run) => run.code !== 0).map((run) => run.stdout)).toEqual([]);
    const addresses = adds.map((run) => run.json.ips[0].address as string);
    expect(new Set(addresses).size).toBe(COUNT);
    const dir = join(dataDir, 'wtconc');
    const files = readdirSync(dir).filter((name) => name.startsWith('10.'));
    expect(files).toHaveLength(COUNT);
    // Each file names the container that got that address.
    adds.forEach((_, n) => {
      const ip = addresses[n]!.split('/')[0]!;
      expect(readFileSync(join(dir, ip), 'latin1')).toBe(`${ids[n]}\r\neth0`);
    });

    const dels = await Promise.all(ids.map((containerId) => runPluginAsync(binary, { command: 'DEL', containerId, config })));
    expect(dels.filter((run) => run.code !== 0).map((run) => run.stdout)).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['last_reserved_ip.0', 'lock']);
  }, 120_000);
});
