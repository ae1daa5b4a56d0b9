import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachmentOfFile, readSaved, readSavedFile, removeSaved, savedFiles, writeSaved } from './saved-attachment.ts';

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
    expect(await readSaved(dir, name)).toEqual({ ...saved, name });
    const files = await savedFiles(dir);
    expect(files).toEqual(['ctr-1.a_b@net-1.json']);
    expect(statSync(join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    expect(attachmentOfFile(files[0]!)).toEqual(name);
    expect(await readSavedFile(dir, files[0]!)).toEqual({ name, saved: { ...saved, name } });
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
    expect(attachmentOfFile(`c1~${'0'.repeat(64)}@eth0.json`)).toBeUndefined();
  });

  it('names the file of a container ID of any length within NAME_MAX, apart from every other, and finds its attachment in it', async () => {
    const bridge = { type: 'bridge' };
    const ids = ['a'.repeat(240), `${'a'.repeat(240)}b`, 'a'.repeat(5000)];
    for (const containerId of ids) await writeSaved(dir, { containerId, ifName: 'eth0' }, { bridge });
    const files = await savedFiles(dir);
    expect(files).toHaveLength(ids.length);
    for (const file of files) expect(Buffer.byteLength(file)).toBeLessThan(200);
    for (const containerId of ids) expect(await readSaved(dir, { containerId, ifName: 'eth0' })).toMatchObject({ bridge });
    const found = await Promise.all(files.map((file) => readSavedFile(dir, file)));
    expect(found.map((f) => f?.name.containerId).sort()).toEqual([...ids].sort());
    // A file written before records named their attachment is found by its name.
    writeFileSync(join(dir, 'old@eth0.json'), JSON.stringify({ bridge }));
    expect(await readSavedFile(dir, 'old@eth0.json')).toEqual({ name: { containerId: 'old', ifName: 'eth0' }, saved: { bridge } });
    expect(await readSaved(dir, { containerId: 'x'.repeat(300), ifName: 'eth0' })).toBeUndefined();
  });
});
