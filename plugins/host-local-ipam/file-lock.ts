// The store's lock: flock(2) on "<store>/lock", exactly as the reference plugin takes it, so ours and the
// reference's processes exclude each other on a shared store.
//
// Node has no flock. Until the native addon exports one, util-linux's flock(1) takes the lock on a
// descriptor this process passes it: a flock lock belongs to the open file description, which the child
// shares, so the lock stays held after the child exits and is released when this process closes the
// descriptor (or dies). Costs one short process (~1.3 ms) per lock.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';

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
      const child = spawnSync('flock', ['--exclusive', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
      if (child.status !== 0) {
        release();
        throw fail(child.error?.message ?? (child.stderr.toString().trim() || `flock exited with ${child.status}`), child.error);
      }
    },
    unlock: release,
    close: release,
  };
}
