// A lock between processes on one machine: flock(2) on a lock file beside what it guards. The kernel
// releases it when its holder dies, whatever the PID namespace, so no stale-lock guessing is needed; the
// host-local store's "<store>/lock" is taken exactly as the reference plugin takes it, so ours and the
// reference's processes exclude each other on a shared store. Node has no flock; the native addon has.
// Its flock blocks the calling thread until the lock is held; holders keep it for one read-modify-write
// (milliseconds).
import { closeSync, constants, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.ts';
import { nativeNetlink } from '../netlink/addon.ts';

export interface FileLock {
  /** Blocks until held. */
  lock(): void;
  unlock(): void;
  /** Unlocks if held. */
  close(): void;
}

export function flockFile(path: string): FileLock {
  let fd: number | undefined;
  const fail = (detail: string, cause?: unknown) =>
    new CniError(ErrorCode.IoFailure, `failed to lock ${path}`, detail, { cause });
  // Closing the only descriptor of the open file releases the lock.
  const release = () => {
    if (fd === undefined) return;
    const open = fd;
    fd = undefined;
    closeSync(open);
  };
  return {
    lock() {
      if (fd !== undefined) return;
      try {
        fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, 0o600);
      } catch (err) {
        throw fail((err as Error).message, err);
      }
      const errno = nativeNetlink().flock(fd, true);
      if (errno !== 0) {
        release();
        throw fail(`flock failed with errno ${errno}`);
      }
    },
    unlock: release,
    close: release,
  };
}

const queues = new Map<string, Promise<void>>();

/**
 * Runs `critical` while holding the flock on `path` (created if missing). Within this process, callers
 * queue on a promise first: a second blocking flock from this thread would wait for a holder that can never
 * run again.
 */
export async function withFileLock<T>(path: string, critical: () => Promise<T>): Promise<T> {
  const key = resolve(path);
  let release!: () => void;
  const turn = new Promise<void>((resolveTurn) => {
    release = resolveTurn;
  });
  const before = queues.get(key) ?? Promise.resolve();
  const tail = before.then(() => turn);
  queues.set(key, tail);
  await before;
  const lock = flockFile(key);
  try {
    lock.lock();
    return await critical();
  } finally {
    lock.close();
    release();
    if (queues.get(key) === tail) queues.delete(key);
  }
}
