// A lock between processes on one machine: flock(2) on a lock file beside what it guards. The kernel
// releases it when its holder dies, whatever the PID namespace, so no stale-lock guessing is needed.
// The addon's flock blocks the calling thread until the lock is held; holders keep it for one
// read-modify-write (milliseconds). Within this process, callers queue on a promise first: a second
// blocking flock from this thread would wait for a holder that can never run again.
import { closeSync, constants, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { nativeNetlink } from '../../lib/netlink/addon.ts';

const queues = new Map<string, Promise<void>>();

/** Runs `critical` while holding the flock on `path` (created if missing). */
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
  try {
    const fd = openSync(key, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      const errno = nativeNetlink().flock(fd, true);
      if (errno !== 0) throw new Error(`flock ${key}: errno ${errno}`);
      return await critical();
    } finally {
      // Closing the only descriptor of this open file releases the lock.
      closeSync(fd);
    }
  } finally {
    release();
    if (queues.get(key) === tail) queues.delete(key);
  }
}
