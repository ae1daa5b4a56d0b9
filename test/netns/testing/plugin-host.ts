// weft's plugin executables are launchers: a call goes to the weftd serving the caller's network namespace
// when there is one (daemon/plugin-host/), else to the Node plugin (lib/resident). The plugins' kernel
// suites run both ways: as they are (no weftd in the test's hosts: the fallback), and in the vitest project
// that sets WEFT_TEST_PLUGINS=weftd, where every simulated host that runs weft's plugins gets a weftd
// serving only plugin calls, and the overlay tests' daemons serve them too.
//
// Started synchronously (the suites' hosts are made in synchronous code): the daemon is spawned in the
// namespace and awaited by its log saying it listens. Stopped by SIGTERM when the test file ends, then its
// log checked: in this mode every call is meant to be served, but for callers with mounts of their own.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { socketPath } from '../../../lib/resident/protocol.ts';
import { track } from './cleanup.ts';
import { distBin } from './cni.ts';
import { cleanEnv } from './command.ts';
import type { Netns } from './netns.ts';

export const viaWeftd = process.env.WEFT_TEST_PLUGINS === 'weftd';

/** weftd's "plugins" config for a daemon the tests start: serving calls exactly in the weftd mode. */
export function pluginsConfig(): { serve: boolean; workers: number } {
  return { serve: viaWeftd, workers: 2 };
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The socket weftd serves the namespace on (named by the namespace's inode). */
export function pluginSocket(netns: Netns): string {
  return socketPath(statSync(netns.path, { bigint: true }).ino);
}

function alive(pid: number): boolean {
  // A zombie still answers signal 0; /proc tells it apart.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** A number from weftd's /metrics (read inside its namespace), summed over the metric's samples. */
export function scrape(netns: Netns, name: string): number {
  const script = `fetch('http://127.0.0.1:9475/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const out = spawnSync('ip', ['netns', 'exec', netns.name, process.execPath, '-e', script], { encoding: 'utf8', env: cleanEnv() });
  if (out.status !== 0) throw new Error(`scraping weftd in ${netns.name}: ${out.stderr}`);
  return out.stdout.split('\n').filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/**
 * weftd's log lines (debug) of calls it declined or refused, but for callers that changed their own mounts
 * (a test's `unshare -m` wrapper): those must fall back, since weftd does not see their files.
 */
export function unexpectedDeclines(log: string): string[] {
  return log.split('\n').filter((line) => /"msg":"(declined|refused) a plugin call"/.test(line) && !line.includes('"reason":"the caller sees other mounts'));
}

export interface PluginHostProcess {
  readonly pid: number;
  readonly socket: string;
  readonly log: string;
  /** SIGTERM, waiting for it to go; SIGKILL (and its socket removed) when it will not. */
  stop(): void;
}

/**
 * Starts a weftd serving only plugin calls in `netns`, its files below `dir`; returns once it listens.
 * `checked`: when the test file ends, fail unless it declined and refused nothing.
 */
export function startPluginHost(netns: Netns, dir: string, checked = true): PluginHostProcess {
  mkdirSync(join(dir, 'state'), { recursive: true });
  const config = join(dir, 'weftd-plugins.json');
  writeFileSync(config, JSON.stringify({ overlay: false, stateDir: join(dir, 'state'), plugins: { serve: true, workers: 2 }, logLevel: 'debug' }));
  const log = join(dir, 'weftd.log');
  const out = openSync(log, 'a');
  // `ip netns exec` execs the daemon: the child's pid is weftd's.
  const child = spawn('ip', ['netns', 'exec', netns.name, process.execPath, distBin('weftd'), '--config', config], {
    stdio: ['ignore', out, out], env: cleanEnv(), detached: false,
  });
  closeSync(out);
  child.unref();
  const pid = child.pid!;
  const socket = pluginSocket(netns);
  const stop = () => {
    if (!alive(pid)) {
      // Killed: its socket stays behind, as it would on a host.
      rmSync(socket, { force: true });
      return;
    }
    process.kill(pid, 'SIGTERM');
    for (let waited = 0; alive(pid) && waited < 10_000; waited += 20) sleepMs(20);
    if (alive(pid)) {
      process.kill(pid, 'SIGKILL');
      rmSync(socket, { force: true });
    }
  };
  const release = track(`weftd (plugins) in ${netns.name} pid ${pid}`, () => {
    stop();
    if (checked) {
      const unserved = unexpectedDeclines(readFileSync(log, 'utf8'));
      if (unserved.length > 0) throw new Error(`weftd in ${netns.name} did not serve calls it should have:\n${unserved.join('\n')}`);
    }
  });
  // The log line, not the socket file: a stale file of an earlier daemon may sit at the path.
  const listening = () => readFileSync(log, 'utf8').includes('"msg":"serving plugin calls"');
  for (let waited = 0; !listening(); waited += 20) {
    if (waited > 15_000 || !alive(pid)) {
      release();
      throw new Error(`weftd in ${netns.name} did not listen on ${socket}: ${readFileSync(log, 'utf8')}`);
    }
    sleepMs(20);
  }
  return { pid, socket, log, stop };
}
