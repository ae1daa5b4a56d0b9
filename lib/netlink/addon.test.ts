import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addonFileName } from './addon.ts';

describe('addonFileName', () => {
  it('names a built addon by the ELF build ID the linker gave it', () => {
    const built = new URL('../../build/weft_netlink.node', import.meta.url);
    const bytes = readFileSync(built);
    const name = addonFileName(bytes.toString('base64'));
    expect(name).toMatch(/^weft_netlink-b[0-9a-f]{16,128}\.node$/);
    // The id sits in the file as written: the hex after the "b" occurs in the raw bytes.
    expect(bytes.includes(Buffer.from(name.slice('weft_netlink-b'.length, -'.node'.length), 'hex'))).toBe(true);
  });

  it('falls back to a fingerprint of every byte when there is no build ID', () => {
    const a = Buffer.alloc(10_000, 7);
    const b = Buffer.from(a);
    b[9_999] = 8;
    const nameA = addonFileName(a.toString('base64'));
    expect(nameA).toMatch(/^weft_netlink-f[0-9a-f]{16}\.node$/);
    expect(addonFileName(b.toString('base64'))).not.toBe(nameA);
    expect(addonFileName(Buffer.from(a).toString('base64'))).toBe(nameA);
  });
});
