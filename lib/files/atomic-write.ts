// Files that readers may open at any moment (the lease file, subnet.env, the VTEP MAC): written to a
// temporary file in the same directory, flushed, then renamed over the old one, so a reader sees the old
// content or the new, never a part; the directory is flushed too so the rename survives a power cut.
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from '../random-bytes.ts';

/** A name beside `path` that no other writer picks, hidden from globbing. */
export function siblingTempName(path: string, tag: string): string {
  return join(dirname(path), `.${basename(path)}.${tag}.${process.pid}.${randomBytes(4).toString('hex')}`);
}

/**
 * Removes the temporary files that writers of `path` killed before their rename left behind. Only for a
 * caller that knows no write of `path` is under way (the overlay's DEL of its own attachment).
 */
export async function removeLeftoverTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.tmp.`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await Promise.all(names.filter((name) => name.startsWith(prefix)).map((name) => rm(join(dirname(path), name), { force: true })));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `path` in full or not at all. */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = siblingTempName(path, 'tmp');
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}
