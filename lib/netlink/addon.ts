// Loads the native part (lib/netlink/native/weft_netlink.c). In a bundle the addon travels inside the
// executable as base64 (build.mjs defines __WEFT_ADDON_BASE64__); it is written once to a root-only
// directory under a content-hashed name and loaded from there, never from a place others can write.
// In source runs it is build/weft_netlink.node.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __WEFT_ADDON_BASE64__: string | undefined;

/** Outcome of a request: errno (positive, 0 = success) and the kernel's extended-ack text. */
export interface NativeOutcome {
  readonly error: number;
  readonly extack?: string;
}

export interface NativeReply extends NativeOutcome {
  /** The reply messages (not the ACK/DONE), back to back. */
  readonly data?: Buffer;
  /** The kernel flagged the dump as inconsistent (changed while dumping): repeat it. */
  readonly interrupted?: true;
}

export interface NativeFailure extends NativeOutcome {
  /** Position of the failed request in the batch. */
  readonly index: number;
}

export interface NativeNetlink {
  /** NETLINK_ROUTE socket made inside the namespace at `nsPath` (the thread's own when absent): fd or -errno. */
  openRoute(nsPath?: string): number;
  /** A `/proc/sys/net/...` file opened inside the namespace: fd or -errno. */
  openSysctl(nsPath: string | undefined, path: string, write: boolean): number;
  request(fd: number, message: Buffer): NativeReply;
  batch(fd: number, messages: Buffer): NativeFailure[];
}

/** Where bundled executables put the addon: on tmpfs, created by root with mode 0700. */
export const addonDirectory = '/run/weft';

let loaded: NativeNetlink | undefined;

export function nativeNetlink(): NativeNetlink {
  loaded ??= load();
  return loaded;
}

function load(): NativeNetlink {
  const embedded = typeof __WEFT_ADDON_BASE64__ === 'string' && __WEFT_ADDON_BASE64__ !== '' ? __WEFT_ADDON_BASE64__ : undefined;
  const file = embedded
    ? materializeAddon(embedded, addonDirectory)
    : fileURLToPath(new URL('../../build/weft_netlink.node', import.meta.url));
  const module = { exports: {} };
  try {
    process.dlopen(module, file, constants.dlopen.RTLD_NOW);
  } catch (err) {
    const hint = embedded ? '' : ' (run `node build.mjs native` first)';
    throw new Error(`cannot load weft's netlink addon ${file}${hint}: ${(err as Error).message}`, { cause: err });
  }
  return module.exports as NativeNetlink;
}

/**
 * Writes the addon (base64) to `dir` under a name derived from its content, unless already there,
 * and returns the file's path. Both the directory and the file must belong to root and be writable
 * by nobody else, or this throws rather than let anyone else's code be loaded.
 */
export function materializeAddon(base64: string, dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkPrivate(dir, lstatSync(dir), 'directory');
  const file = join(dir, `weft_netlink-${createHash('sha256').update(base64).digest('hex').slice(0, 20)}.node`);
  let stats = lstatSync(file, { throwIfNoEntry: false });
  if (!stats) {
    // Written aside and renamed, so a concurrent or interrupted start never sees a partial file.
    const partial = `${file}.${process.pid}.partial`;
    rmSync(partial, { force: true });
    writeFileSync(partial, Buffer.from(base64, 'base64'), { mode: 0o500, flag: 'wx' });
    renameSync(partial, file);
    stats = lstatSync(file);
  }
  checkPrivate(file, stats, 'file');
  return file;
}

function checkPrivate(path: string, stats: Stats, what: 'directory' | 'file'): void {
  const isRightType = what === 'directory' ? stats.isDirectory() : stats.isFile();
  if (!isRightType) throw new Error(`refusing to load the netlink addon: ${path} is not a ${what}`);
  if (stats.uid !== 0) throw new Error(`refusing to load the netlink addon: ${path} is not owned by root`);
  if ((stats.mode & 0o022) !== 0) {
    throw new Error(`refusing to load the netlink addon: ${path} is writable by group or others`);
  }
}
