import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachmentOfFile, readSaved, removeSaved, savedFiles, writeSaved } from './saved-attachment.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wt-overlay-saved-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const name = { containerId: 'ctr-1.a_b', ifName: 'net-1' };

describe('saved attachments', () => {
  it('round-trips, lists and removes one attachment, readable by root alone', async () => {
    const saved = { bridge: { type: 'bridge', bridge: 'weft0' }, endpoint: { service: 'echo' } };
    await writeSaved(dir, name, saved);
    expect(await readSaved(dir, name)).toEqual(saved);
    const files = await savedFiles(dir);
    expect(files).toEqual(['ctr-1.a_b@net-1.json']);
    expect(statSync(join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    expect(attachmentOfFile(files[0]!)).toEqual(name);
    await removeSaved(dir, name);
    expect(await readSaved(dir, name)).toBeUndefined();
    await removeSaved(dir, name);
  });

  it('reads nothing from a missing directory and refuses a damaged file with code 5', async () => {
    expect(await savedFiles(join(dir, 'absent'))).toEqual([]);
    writeFileSync(join(dir, 'c1@eth0.json'), '{"bridge": 3}');
    await expect(readSaved(dir, { containerId: 'c1', ifName: 'eth0' })).rejects.toMatchObject({ code: 5 });
  });

  it('ignores file names that name no attachment', () => {
    expect(attachmentOfFile('noat.json')).toBeUndefined();
    expect(attachmentOfFile('@eth0.json')).toBeUndefined();
    expect(attachmentOfFile('c1@.json')).toBeUndefined();
  });
});
