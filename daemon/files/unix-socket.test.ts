import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { claimSocketPath } from './unix-socket.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-socket-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function listen(path: string) {
  const server = createServer();
  return new Promise<typeof server>((resolve) => server.listen(path, () => resolve(server)));
}

describe('claimSocketPath', () => {
  it('is free at once when nothing is there, its folder made', async () => {
    await claimSocketPath(join(dir, 'new', 'a.sock'), 'the API socket');
    expect(existsSync(join(dir, 'new'))).toBe(true);
  });

  it('removes a socket nobody answers on (left by a daemon that died)', async () => {
    const path = join(dir, 'stale.sock');
    // A server killed without its exit's clean-up leaves the socket file behind.
    spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(lstatSync(path).isSocket()).toBe(true);
    await claimSocketPath(path, 'the API socket');
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a file that is no socket, and leaves it', async () => {
    const path = join(dir, 'leases.json');
    writeFileSync(path, '{"precious":true}');
    await expect(claimSocketPath(path, 'the API socket')).rejects.toMatchObject({ msg: `the API socket ${path} exists and is not a socket` });
    expect(readFileSync(path, 'utf8')).toBe('{"precious":true}');
  });

  it('refuses a socket a live server answers on', async () => {
    const path = join(dir, 'live.sock');
    const server = await listen(path);
    try {
      await expect(claimSocketPath(path, 'the API socket')).rejects.toMatchObject({ msg: `the API socket ${path} is in use` });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
