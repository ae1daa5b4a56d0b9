// Reading a file that a config or the environment names (a resolv.conf, weftd's subnet.env, a network config,
// a saved attachment): only a regular file, and at most a bound. "resolvConf": "/dev/zero" grew a plugin to
// 4 GB; a FIFO would block it for ever, so the file is opened non-blocking and checked before any read.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Far above any file weft reads this way; well below what would strain a plugin process. */
export const MAX_FILE_BYTES = 1 << 20;

/** The file is not a regular file, or is larger than the bound: the config names the wrong thing. */
export class UnreadableFileError extends Error {
  override readonly name = 'UnreadableFileError';
  constructor(
    readonly path: string,
    /** "is not a regular file", "is larger than N bytes" */
    readonly problem: string,
  ) {
    super(`${path} ${problem}`);
  }
}

export interface BoundedReadOptions {
  maxBytes?: number;
  /** Refuse a symbolic link in the last component (ELOOP), for files in weft's own folders. */
  noFollow?: boolean;
}

/**
 * The UTF-8 text of `path`. Throws UnreadableFileError for anything but a regular file of at most
 * `maxBytes`, and the system's error (ENOENT, EACCES, ...) when it cannot be opened or read.
 */
export function readBoundedFile(path: string, options: BoundedReadOptions = {}): string {
  return readBoundedBytes(path, options).toString('utf8');
}

/** The bytes of `path`, as `readBoundedFile` reads them. */
export function readBoundedBytes(path: string, options: BoundedReadOptions = {}): Buffer {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
  const fd = openSync(path, flags);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new UnreadableFileError(path, 'is not a regular file');
    return readBoundedFd(fd, path, options.maxBytes, stats.size);
  } finally {
    closeSync(fd);
  }
}

/** The whole of an open regular file, refused past `maxBytes`. */
export function readBoundedFd(fd: number, path: string, maxBytes = MAX_FILE_BYTES, size = fstatSync(fd).size): Buffer {
  // Sized by fstat, and grown when the file is longer (it grew, or it is a /proc file that reports 0), up
  // to one byte past the bound, which tells a file at the bound from a longer one.
  let buffer = Buffer.allocUnsafe(Math.min(size, maxBytes) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) throw new UnreadableFileError(path, `is larger than ${maxBytes} bytes`);
      const grown = Buffer.allocUnsafe(Math.min(length * 2, maxBytes + 1));
      buffer.copy(grown);
      buffer = grown;
    }
    const n = readSync(fd, buffer, length, buffer.length - length, length);
    if (n === 0) return buffer.subarray(0, length);
    length += n;
  }
}
