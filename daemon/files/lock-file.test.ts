import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, breakStaleLock, currentHolder, holderAlive, LockTimeoutError } from './lock-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;
const lockPath = () => join(dir, `l${serial++}.lock`);

/** Increments a counter file by read, pause, write: correct only when callers are mutually excluded. */
async function guardedIncrement(lock: string, counter: string): Promise<void> {
  const release = await acquireLock(lock);
  try {
    const value = Number(await readFile(counter, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 1));
    await writeFile(counter, String(value + 1));
  } finally {
    await release();
  }
}

function startSleeper(): Promise<{ pid: number; start: number; stop: () => Promise<void> }> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      resolve({
        pid: child.pid!, start,
        stop: () => new Promise<void>((done) => { child.once('exit', () => done()); child.kill('SIGKILL'); }),
      });
    });
  });
}

describe('acquireLock', () => {
  it('excludes concurrent holders', async () => {
    const lock = lockPath();
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    await Promise.all(Array.from({ length: 20 }, () => guardedIncrement(lock, counter)));
    expect(readFileSync(counter, 'utf8')).toBe('20');
    expect(existsSync(lock)).toBe(false);
  });

  it('records this process as the holder', async () => {
    const lock = lockPath();
    const release = await acquireLock(lock);
    const holder = JSON.parse(readFileSync(lock, 'utf8'));
    expect(holder).toEqual(currentHolder());
    expect(holderAlive(holder)).toBe(true);
    await release();
  });

  it('waits for a live holder, then gives up naming it', async () => {
    const sleeper = await startSleeper();
    const lock = lockPath();
    try {
      writeFileSync(lock, JSON.stringify({ pid: sleeper.pid, start: sleeper.start, boot: currentHolder().boot }));
      const started = Date.now();
      const error = await acquireLock(lock, { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect((error as Error).message).toContain(`held by process ${sleeper.pid}`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    } finally {
      await sleeper.stop();
    }
    // The holder died: its lock is stale and taken over.
    const release = await acquireLock(lock, { timeoutMs: 200 });
    expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    await release();
  });

  it.each([
    ['a PID reused by another process', (boot: string) => JSON.stringify({ pid: process.pid, start: 1, boot })],
    ['a holder from an earlier boot', () => JSON.stringify({ ...currentHolder(), boot: 'another-boot' })],
    ['content not written by weft', () => 'garbage'],
  ])('takes over a lock left by %s', async (_name, content) => {
    const lock = lockPath();
    writeFileSync(lock, content(currentHolder().boot));
    const release = await acquireLock(lock, { timeoutMs: 200 });
    await release();
    expect(existsSync(lock)).toBe(false);
  });

  it('lets exactly one of many waiters break a stale lock at a time', async () => {
    const lock = lockPath();
    const counter = join(dir, 'counter-stale');
    writeFileSync(counter, '0');
    for (let round = 1; round <= 10; round++) {
      writeFileSync(lock, JSON.stringify({ pid: 999_999_999, start: 1, boot: currentHolder().boot }));
      await Promise.all(Array.from({ length: 10 }, () => guardedIncrement(lock, counter)));
      expect(readFileSync(counter, 'utf8')).toBe(String(10 * round));
    }
  });

  it('never breaks a lock that changed since it was seen stale (a racing breaker already took it)', async () => {
    const lock = lockPath();
    const stale = JSON.stringify({ pid: 999_999_999, start: 1, boot: currentHolder().boot });
    const release = await acquireLock(lock);
    const mine = readFileSync(lock, 'utf8');
    expect(await breakStaleLock(lock, stale)).toBe(true);
    expect(readFileSync(lock, 'utf8')).toBe(mine);
    await release();
  });

  it('leaves breaking to a breaker in progress, unless its mark is old', async () => {
    const lock = lockPath();
    const stale = JSON.stringify({ pid: 999_999_999, start: 1, boot: currentHolder().boot });
    writeFileSync(lock, stale);
    writeFileSync(`${lock}.break`, 'someone');
    expect(await breakStaleLock(lock, stale)).toBe(false);
    expect(readFileSync(lock, 'utf8')).toBe(stale);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${lock}.break`, old, old);
    expect(await breakStaleLock(lock, stale)).toBe(false);
    expect(await breakStaleLock(lock, stale)).toBe(true);
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(`${lock}.break`)).toBe(false);
  });

  it('does not remove on release a lock that another process took over meanwhile', async () => {
    const lock = lockPath();
    const release = await acquireLock(lock);
    const other = JSON.stringify({ pid: 1, start: 0, boot: 'x' });
    writeFileSync(lock, other);
    await release();
    expect(readFileSync(lock, 'utf8')).toBe(other);
  });
});
