// Uniquely named network namespaces for one test, removed by exact name when the test file ends.
import { existsSync, rmSync, statSync } from 'node:fs';
import { socketPath } from '../../../lib/resident/protocol.ts';
import { track } from './cleanup.ts';
import { run, runChecked, type CommandResult } from './command.ts';
import { uniqueName } from './names.ts';

export class Netns {
  /** The bind-mount `ip netns add` makes: the CNI_NETNS a runtime would pass. */
  readonly path: string;

  constructor(
    readonly name: string,
    private readonly release: () => void,
  ) {
    this.path = `/run/netns/${name}`;
  }

  /** `ip -n NAME ARGS...`; throws on failure. */
  ip(...args: string[]): string {
    return runChecked('ip', ['-n', this.name, ...args]);
  }

  /** `ip -j -n NAME ARGS...` parsed. */
  ipJson<T = unknown>(...args: string[]): T {
    const out = runChecked('ip', ['-j', '-n', this.name, ...args]);
    return JSON.parse(out.trim() === '' ? '[]' : out) as T;
  }

  /** Runs a program inside the namespace (`ip netns exec`). */
  exec(file: string, args: readonly string[] = [], input?: string): CommandResult {
    return run('ip', ['netns', 'exec', this.name, file, ...args], input === undefined ? {} : { input });
  }

  /** Deletes the namespace now (also what the cleanup registry does). */
  remove(): void {
    this.release();
  }
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

function deleteNetns(name: string): void {
  if (!netnsExists(name)) return;
  // A weftd killed in this namespace leaves its plugin socket, named by the namespace's inode, in the
  // machine's /run/weft/plugins: it goes with the namespace (before it, while the inode is still ours).
  rmSync(socketPath(statSync(`/run/netns/${name}`, { bigint: true }).ino), { force: true });
  runChecked('ip', ['netns', 'delete', name]);
}

/** Creates `wt<prefix><random>` (≤ 15 characters) with its loopback down, as a runtime would. */
export function createNetns(prefix = ''): Netns {
  const name = uniqueName(prefix);
  if (netnsExists(name)) throw new Error(`network namespace ${name} already exists`);
  runChecked('ip', ['netns', 'add', name]);
  return new Netns(name, track(`netns ${name}`, () => deleteNetns(name)));
}
