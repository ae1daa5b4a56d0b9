// Random bytes for interface names, MACs and temporary file names, read from the kernel's /dev/urandom: loading node:crypto for a
// dozen bytes would add ~2.5 ms to every plugin start.
import { closeSync, openSync, readSync } from 'node:fs';

export function randomBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  const fd = openSync('/dev/urandom', 'r');
  try {
    // The kernel fills reads of up to 256 bytes from urandom whole.
    if (readSync(fd, bytes, 0, length, null) !== length) throw new Error('short read from /dev/urandom');
  } finally {
    closeSync(fd);
  }
  return bytes;
}
