// Sysctls under /proc/sys/net as a given network namespace sees them. The file is opened inside the
// namespace by native code (a descriptor keeps the namespace it was opened in); reads and writes
// then go through it from here.
import { closeSync, readSync, writeSync } from 'node:fs';
import { nativeNetlink } from './addon.ts';
import { NetlinkError, fromSystemError } from './errors.ts';

/**
 * `net/ipv4/ip_forward` or `net.ipv4.ip_forward` → its /proc/sys path. Use the slash form when a
 * component contains a dot (an interface such as `br0.100`).
 */
export function sysctlPath(key: string): string {
  const path = key.includes('/') ? key : key.replaceAll('.', '/');
  if (!path.startsWith('net/') || path.split('/').some((part) => part === '' || part === '.' || part === '..') || path.includes('\0')) {
    throw new TypeError(`invalid network sysctl: ${JSON.stringify(key)} (expected net/... or net....)`);
  }
  return `/proc/sys/${path}`;
}

function openIn(nsPath: string | undefined, key: string, write: boolean, operation: string): number {
  const fd = nativeNetlink().openSysctl(nsPath, sysctlPath(key), write);
  if (fd < 0) throw new NetlinkError(where(operation, nsPath), -fd);
  return fd;
}

function where(operation: string, nsPath: string | undefined): string {
  return nsPath === undefined ? operation : `${operation} in ${nsPath}`;
}

/** The sysctl's value without its trailing newline. `nsPath` undefined: the caller's namespace. */
export function sysctlGet(nsPath: string | undefined, key: string): string {
  const operation = `read sysctl ${key}`;
  const fd = openIn(nsPath, key, false, operation);
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const chunk = Buffer.alloc(4096);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
  } catch (err) {
    throw fromSystemError(where(operation, nsPath), err);
  } finally {
    closeSync(fd);
  }
}

export function sysctlSet(nsPath: string | undefined, key: string, value: string | number): void {
  const operation = `set sysctl ${key}=${value}`;
  const fd = openIn(nsPath, key, true, operation);
  try {
    // One write: the kernel parses each write(2) as a whole value.
    writeSync(fd, String(value));
  } catch (err) {
    throw fromSystemError(where(operation, nsPath), err);
  } finally {
    closeSync(fd);
  }
}
