// Other processes are util-linux flock(1), which takes the same kernel lock.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withFileLock } from './file-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-flock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;
const lockPath = () => join(dir, `l${serial++}.lock`);

/** Starts `flock PATH sleep N` and resolves once it holds the lock; only flock itself holds it (--close). */
async function holder(path: string, seconds: number): Promise<{ exited: Promise<void>; kill: () => void }> {
  const child = spawn('flock', ['--exclusive', '--close', path, 'sh', '-c', `echo held; exec sleep ${seconds}`], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
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
    const other = await holder(lock, 0.4);
    const started = Date.now();
    await withFileLock(lock, async () => undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    await other.exited;
  });

  it('gets a lock whose holder was killed at once: the kernel released it', async () => {
    const lock = lockPath();
    const other = await holder(lock, 30);
    other.kill();
    await other.exited;
    const started = Date.now();
    await withFileLock(lock, async () => undefined);
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('releases the lock when the critical section throws', async () => {
    const lock = lockPath();
    await expect(withFileLock(lock, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await withFileLock(lock, async () => 'next')).toBe('next');
  });
});
