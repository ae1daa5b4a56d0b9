// The store's lock: flock(2) on "<store>/lock", exactly as the reference plugin takes it, so ours and the
// reference's processes exclude each other on a shared store. Node has no flock; the native addon has.
import { closeSync, constants, openSync } from 'node:fs';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { nativeNetlink } from '../../lib/netlink/addon.ts';

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
