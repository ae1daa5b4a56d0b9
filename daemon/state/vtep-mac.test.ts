import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadVtepMac, vtepMacFromBytes } from './vtep-mac.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-vtep-mac-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('VTEP MAC', () => {
  it('is locally administered and unicast whatever the random bytes', () => {
    expect(vtepMacFromBytes(Uint8Array.from([0xff, 1, 2, 3, 4, 5]))).toBe('fe:01:02:03:04:05');
    expect(vtepMacFromBytes(Uint8Array.from([0x00, 0, 0, 0, 0, 0]))).toBe('02:00:00:00:00:00');
    expect(vtepMacFromBytes(Uint8Array.from([0x11, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]))).toBe('12:aa:bb:cc:dd:ee');
  });

  it('is generated once and then read back', async () => {
    const stateDir = join(dir, 'state');
    const first = await loadVtepMac(stateDir, () => Uint8Array.from([1, 2, 3, 4, 5, 6]));
    expect(first).toEqual({ mac: '02:02:03:04:05:06', created: true });
    expect(readFileSync(join(stateDir, 'vtep-mac'), 'utf8')).toBe('02:02:03:04:05:06\n');
    const again = await loadVtepMac(stateDir, () => { throw new Error('must not generate again'); });
    expect(again).toEqual({ mac: '02:02:03:04:05:06', created: false });
  });

  it('refuses a damaged file instead of replacing the MAC peers know', async () => {
    const stateDir = join(dir, 'damaged');
    await loadVtepMac(stateDir);
    writeFileSync(join(stateDir, 'vtep-mac'), 'not a mac\n');
    await expect(loadVtepMac(stateDir)).rejects.toThrow(/does not hold a MAC address.*fix or remove it/);
    writeFileSync(join(stateDir, 'vtep-mac'), '01:00:5e:00:00:01\n');
    await expect(loadVtepMac(stateDir)).rejects.toThrow(/not a unicast MAC/);
  });
});
