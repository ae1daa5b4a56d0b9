// Other processes are util-linux flock(1), which takes the same kernel lock.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withFileLock } from './file-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-flock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;
const lockPath = () => join(dir, `l${serial++}.lock`);

/**
 * Starts `flock PATH sh -c 'sleep N; …'` and resolves once it holds the lock; only flock itself holds it
 * (--close). With `done`, the shell writes that file as the last thing it does under the lock.
 */
async function holder(path: string, seconds: number, done?: string): Promise<{ exited: Promise<void>; kill: () => void }> {
  const last = done ? `sleep ${seconds}; echo done > "$0"` : `exec sleep ${seconds}`;
  const child = spawn('flock', ['--exclusive', '--close', path, 'sh', '-c', `echo held; ${last}`, done ?? 'sh'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('error', reject);
  });
  // The whole group: flock and its sleep.
  return { exited: new Promise((resolve) => child.once('exit', () => resolve())), kill: () => process.kill(-child.pid!, 'SIGKILL') };
}

describe('withFileLock', () => {
  it('serialises critical sections of this process', async () => {
    const lock = lockPath();
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    await Promise.all(Array.from({ length: 25 }, () => withFileLock(lock, async () => {
      const value = Number(await readFile(counter, 'utf8'));
      await new Promise((resolve) => setTimeout(resolve, 1));
      await writeFile(counter, String(value + 1));
    })));
    expect(readFileSync(counter, 'utf8')).toBe('25');
  });

  it('holds the kernel lock that other processes see, and releases it afterwards', async () => {
    const lock = lockPath();
    const tryLock = () => spawnSync('flock', ['--nonblock', lock, 'true']).status;
    await withFileLock(lock, async () => {
      expect(tryLock()).toBe(1);
    });
    expect(tryLock()).toBe(0);
  });

  it('waits for another process to release the lock', async () => {
    const lock = lockPath();
    const done = join(dir, 'holder-done');
    const other = await holder(lock, 0.2, done);
    // Taken only after the holder's last step under the lock.
    await withFileLock(lock, async () => {
      expect(existsSync(done)).toBe(true);
    });
    await other.exited;
  });

  it('gets a lock whose holder was killed at once: the kernel released it', async () => {
    const lock = lockPath();
    const other = await holder(lock, 30);
    other.kill();
    await other.exited;
    // Free the moment its holder is gone (a 30 s holder): no stale lock to wait out or guess about.
    expect(spawnSync('flock', ['--nonblock', lock, 'true']).status).toBe(0);
    expect(await withFileLock(lock, async () => 'taken')).toBe('taken');
  });

  it('releases the lock when the critical section throws', async () => {
    const lock = lockPath();
    await expect(withFileLock(lock, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await withFileLock(lock, async () => 'next')).toBe('next');
  });
});
