// A lock between processes on one machine: a lock file created exclusively. flock(2) would be simpler and
// released by the kernel when a holder dies, but Node has no flock and the native addon does not offer it
// yet; so a holder that died is detected instead: the file names its PID, the PID's start time (PIDs are
// reused, start times are not) and the boot, and a lock whose holder is gone is taken over.
//
// Limit: PIDs are only comparable within one PID namespace. Two daemons sharing a lock file from different
// PID namespaces see each other as dead when a holder is alive; run them in the host PID namespace.
import { link, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { siblingTempName } from './atomic-write.ts';

export interface LockHolder {
  readonly pid: number;
  /** Start time of the process in clock ticks since boot (/proc/PID/stat field 22). */
  readonly start: number;
  readonly boot: string;
}

export interface LockOptions {
  /** Give up after this long (default 10 s). */
  readonly timeoutMs?: number;
  /** Whether a holder still runs; the default reads /proc. */
  readonly isAlive?: (holder: LockHolder) => boolean;
}

export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
}

function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

export function currentHolder(): LockHolder {
  return { pid: process.pid, start: processStart(process.pid) ?? 0, boot: bootId() };
}

/** A holder is alive when this boot still runs a process with its PID and start time. */
export function holderAlive(holder: LockHolder): boolean {
  return holder.boot === bootId() && processStart(holder.pid) === holder.start;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isSafeInteger(value.pid) && Number.isSafeInteger(value.start) && typeof value.boot === 'string') {
      return value as LockHolder;
    }
  } catch {
    // Not written by this code: treated like a missing holder below.
  }
  return undefined;
}

async function readHolder(path: string): Promise<{ text: string; holder?: LockHolder } | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    const holder = parseHolder(text);
    return holder ? { text, holder } : { text };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates `path` holding `content` only if it does not exist: link(2) of a complete file is atomic. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const temp = siblingTempName(path, 'lock');
  await writeFile(temp, content, { mode: 0o644 });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

/** A breaker that died mid-way leaves its `.break` file; breaking takes milliseconds, so an old one is stale. */
const staleBreakMs = 5000;

/**
 * Removes a dead holder's lock (true: the lock is no longer the stale one, try again). Breakers first take `<path>.break` (created exclusively), then check under
 * it that the lock still holds the dead holder's content: so of several processes that saw the same stale
 * lock, one removes it, and none removes the lock a winner took meanwhile.
 */
export async function breakStaleLock(path: string, staleText: string): Promise<boolean> {
  const breakPath = `${path}.break`;
  if (!(await createExclusive(breakPath, JSON.stringify(currentHolder())))) {
    const age = await stat(breakPath).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > staleBreakMs) await rm(breakPath, { force: true });
    return false;
  }
  try {
    if ((await readHolder(path))?.text !== staleText) return true;
    await rm(path, { force: true });
    return true;
  } finally {
    await rm(breakPath, { force: true });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits for the lock; resolves to the function that releases it. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const isAlive = options.isAlive ?? holderAlive;
  const content = JSON.stringify(currentHolder());
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (await createExclusive(path, content)) {
      return async () => {
        // Only our own lock is removed: one taken over from us (we were thought dead) stays.
        if ((await readHolder(path))?.text === content) await rm(path, { force: true });
      };
    }
    const current = await readHolder(path);
    if (current === undefined) continue;
    const stale = !current.holder || !isAlive(current.holder);
    if (stale && (await breakStaleLock(path, current.text))) continue;
    if (Date.now() >= deadline) {
      const who = current.holder ? `process ${current.holder.pid}` : 'another process';
      throw new LockTimeoutError(`${path} is held by ${who}${stale ? ' (gone, but being taken over)' : ''}; gave up after ${timeoutMs} ms`);
    }
    // Holders keep the lock for one read-modify-write: milliseconds. Jitter keeps waiters apart.
    await sleep(Math.min(50, 2 + attempt * 2) * (0.5 + Math.random()));
  }
}
