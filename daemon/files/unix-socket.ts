// A unix socket's path before a server binds it. A socket left by a daemon that did not stop cleanly is
// removed (binding would fail on it), and nothing else is: not a file that is no socket (a path mistyped
// in the config must not delete a store or a config file), and not a socket a live server still answers on
// (another weftd, whose clients would silently move to this one).
import { lstat, mkdir, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Makes `path` free for a server to bind, or throws a CniError saying why it must not be taken. */
export async function claimSocketPath(path: string, what: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const stats = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!stats) return;
  if (!stats.isSocket()) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${what} ${path} exists and is not a socket`, 'refusing to replace it: check the path');
  }
  if (await answers(path)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${what} ${path} is in use`, 'another weftd (or another program) listens on it: give each daemon its own path');
  }
  await rm(path, { force: true });
}
