// /run/weft: where weft's executables keep what they derive from themselves at run time — the netlink addon
// they carry, the compiled code of a plugin. It is on tmpfs (gone at reboot, rebuilt on demand) and belongs
// to root with mode 0700: what is loaded from here runs as root, so nothing here may be anyone else's.
import { lstatSync, mkdirSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs';

export const runDirectory = '/run/weft';

/**
 * Throws unless `path` is a `what` owned by root and writable by nobody else (checked with lstat: a
 * symbolic link is neither). `purpose` words the refusal, e.g. `load the netlink addon`.
 */
export function checkPrivate(path: string, stats: Stats, what: 'directory' | 'file', purpose: string): void {
  const isRightType = what === 'directory' ? stats.isDirectory() : stats.isFile();
  if (!isRightType) throw new Error(`refusing to ${purpose}: ${path} is not a ${what}`);
  if (stats.uid !== 0) throw new Error(`refusing to ${purpose}: ${path} is not owned by root`);
  if ((stats.mode & 0o022) !== 0) throw new Error(`refusing to ${purpose}: ${path} is writable by group or others`);
}

/** Makes `dir` (and missing parents) with mode 0700 and checks it is private. */
export function privateDirectory(dir: string, purpose: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkPrivate(dir, lstatSync(dir), 'directory', purpose);
}

/** Writes `file` whole: aside first, then renamed, so a concurrent or interrupted run never sees part of it. */
export function writeWhole(file: string, bytes: Uint8Array, mode: number): void {
  const partial = `${file}.${process.pid}.partial`;
  rmSync(partial, { force: true });
  writeFileSync(partial, bytes, { mode, flag: 'wx' });
  renameSync(partial, file);
}
