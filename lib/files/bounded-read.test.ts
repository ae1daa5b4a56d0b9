import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES, readBoundedFile, UnreadableFileError } from './bounded-read.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wt-bounded-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('readBoundedFile', () => {
  it('reads a regular file, through a symbolic link unless told not to', () => {
    writeFileSync(join(dir, 'f'), 'nameserver 10.0.0.1\n');
    symlinkSync(join(dir, 'f'), join(dir, 'link'));
    expect(readBoundedFile(join(dir, 'f'))).toBe('nameserver 10.0.0.1\n');
    expect(readBoundedFile(join(dir, 'link'))).toBe('nameserver 10.0.0.1\n');
    expect(() => readBoundedFile(join(dir, 'link'), { noFollow: true })).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  });

  it('reads a file at the bound and refuses one past it', () => {
    writeFileSync(join(dir, 'at'), 'x'.repeat(100));
    writeFileSync(join(dir, 'past'), 'x'.repeat(101));
    expect(readBoundedFile(join(dir, 'at'), { maxBytes: 100 })).toHaveLength(100);
    expect(() => readBoundedFile(join(dir, 'past'), { maxBytes: 100 })).toThrow(`${join(dir, 'past')} is larger than 100 bytes`);
  });

  it('reads files whose size the kernel does not report, to the bound', () => {
    expect(readBoundedFile('/proc/self/status')).toMatch(/^Name:/);
    expect(() => readBoundedFile('/proc/self/maps', { maxBytes: 10 })).toThrow(UnreadableFileError);
  });

  it('refuses devices, FIFOs and folders without reading or waiting', () => {
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const path of ['/dev/zero', '/dev/urandom', fifo, dir]) {
      expect(() => readBoundedFile(path)).toThrow(expect.objectContaining({ name: 'UnreadableFileError', message: `${path} is not a regular file` }));
    }
  });

  it('lets the system error through for a file that is not there', () => {
    expect(() => readBoundedFile(join(dir, 'absent'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('bounds at 1 MiB unless told', () => {
    writeFileSync(join(dir, 'big'), Buffer.alloc(MAX_FILE_BYTES + 1, 0x61));
    expect(() => readBoundedFile(join(dir, 'big'))).toThrow(UnreadableFileError);
  });
});
