// Network namespaces by path: the descriptors the kernel takes to place a link in a namespace
// (IFLA_NET_NS_FD). Requests *inside* a namespace go through a socket made there (socket.ts).
import { closeSync, openSync } from 'node:fs';
import { fromSystemError } from './errors.ts';

/** Where `ip netns add NAME` (and most runtimes) bind-mount a named namespace. */
export const netnsDirectory = '/run/netns';

/** The path of a named namespace; names are single path components. */
export function netnsPath(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new TypeError(`invalid network namespace name: ${JSON.stringify(name)}`);
  }
  return `${netnsDirectory}/${name}`;
}

/** Opens a namespace (`/run/netns/NAME`, `/proc/PID/ns/net`) for IFLA_NET_NS_FD; the caller closes it. */
export function openNetnsFd(path: string): number {
  try {
    // libuv opens every file close-on-exec: children (delegated plugins) never inherit it.
    return openSync(path, 'r');
  } catch (err) {
    throw fromSystemError(`open network namespace ${path}`, err);
  }
}

/** Runs `fn` with a descriptor of the namespace at `path`, closed afterwards. */
export function withNetnsFd<T>(path: string, fn: (fd: number) => T): T {
  const fd = openNetnsFd(path);
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}
