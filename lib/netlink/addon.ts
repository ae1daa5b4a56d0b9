// Loads the native part (lib/netlink/native/weft_netlink.c). In a bundle the addon travels inside the
// executable as base64 (build.mjs defines __WEFT_ADDON_BASE64__); it is written once to a root-only
// directory under a name derived from its content and loaded from there, never from a place others
// can write. In source runs it is build/weft_netlink.node. node:crypto is not used: loading it costs
// several milliseconds, more than this layer's whole load budget.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPrivate, privateDirectory, runDirectory, writeWhole } from '../run-dir.ts';
import { readU32 } from './codec.ts';

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
  /** A NETLINK_ROUTE (0) or NETLINK_NETFILTER (12) socket made inside the namespace at `nsPath` (the thread's own when undefined): fd or -errno. */
  openNetlink(nsPath: string | undefined, protocol: number): number;
  /** A `/proc/sys/net/...` file opened inside the namespace: fd or -errno. */
  openSysctl(nsPath: string | undefined, path: string, write: boolean): number;
  request(fd: number, message: Buffer): NativeReply;
  batch(fd: number, messages: Buffer): NativeFailure[];
  /** An nfnetlink batch (begin, changes, end) sent whole: applied all or nothing; the failures it reported. */
  transaction(fd: number, messages: Buffer): NativeFailure[];
  /** flock(2), blocking until held unless `wait` is false (then EWOULDBLOCK, 11, when another holds it): 0 or errno. */
  flock(fd: number, exclusive: boolean, wait?: boolean): number;
  /** SO_PEERCRED of a connected unix socket: [pid, uid, gid] of the process that connected, or -errno. */
  peerCredentials(fd: number): [pid: number, uid: number, gid: number] | number;
  /**
   * Joins the socket to multicast `groups` and calls back from the event loop with the notifications that
   * arrived (a Buffer of messages) or -errno (-ENOBUFS: some were lost). A handle for unwatch, or -errno.
   */
  watch(fd: number, groups: readonly number[], callback: (data: Buffer | number) => void): NativeWatch | number;
  /** Stops a watch's callbacks; the socket stays the caller's to close. */
  unwatch(handle: NativeWatch): void;
}

/** An addon watch, opaque to JavaScript. */
export interface NativeWatch {
  readonly __nativeWatch: never;
}

/** Where bundled executables put the addon (lib/run-dir.ts). */
export const addonDirectory = runDirectory;

const purpose = 'load the netlink addon';

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
    process.dlopen(module, file);
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
  privateDirectory(dir, purpose);
  const file = join(dir, addonFileName(base64));
  let stats = lstatSync(file, { throwIfNoEntry: false });
  if (!stats) {
    writeWhole(file, Buffer.from(base64, 'base64'), 0o500);
    stats = lstatSync(file);
  }
  checkPrivate(file, stats, 'file', purpose);
  return file;
}

/**
 * `weft_netlink-<id>.node`, where the id changes whenever the addon does: the ELF build ID the linker
 * put in it (a hash of its content, found in its first page without decoding the rest), or else a
 * 64-bit fingerprint of all its bytes. Collisions would need two builds of this very addon; planting a
 * file is prevented by the directory's ownership, not by the name.
 */
export function addonFileName(base64: string): string {
  const head = Buffer.from(base64.slice(0, 4 * 1366), 'base64'); // the first 4 KiB
  return `weft_netlink-${gnuBuildId(head) ?? fingerprint(Buffer.from(base64, 'base64'))}.node`;
}

/** The NT_GNU_BUILD_ID note: namesz 4, descsz, type 3, "GNU\0", then the id itself. */
function gnuBuildId(bytes: Buffer): string | undefined {
  for (let at = bytes.indexOf('GNU\0'); at >= 12; at = bytes.indexOf('GNU\0', at + 1)) {
    const size = readU32(bytes, at - 8);
    if (readU32(bytes, at - 12) !== 4 || readU32(bytes, at - 4) !== 3 || size < 8 || size > 64) continue;
    if (at + 4 + size <= bytes.length) return `b${bytes.toString('hex', at + 4, at + 4 + size)}`;
  }
  return undefined;
}

/** Two independent 32-bit multiply-xorshift lanes over the bytes: 64 bits, as 16 hex digits. */
function fingerprint(bytes: Buffer): string {
  let a = 0x811c9dc5 ^ bytes.length;
  let b = 0x9747b28c;
  for (const byte of bytes) {
    a = Math.imul(a ^ byte, 0x01000193);
    a ^= a >>> 15;
    b = Math.imul(b ^ byte, 0x5bd1e995);
    b ^= b >>> 13;
  }
  return `f${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}`;
}
