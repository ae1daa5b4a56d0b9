// Long-running programs inside test namespaces for the overlay tests: weftd on each simulated host and
// a 3-member etcd cluster in a namespace of its own on the underlay, so the hosts' daemons reach it the
// way real nodes would. Each program runs under a small shell that kills it when this test process goes
// away (its stdin, a pipe from us, closes), and is registered for cleanup by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { track } from './cleanup.ts';
import { distBin } from './cni.ts';
import { cleanEnv, run } from './command.ts';
import { createTempDir } from './files.ts';
import type { Netns } from './netns.ts';
import { createHost } from './hosts.ts';
import { createOverlayHosts, sleep, type OverlayHost } from './overlay.ts';
import { pluginsConfig } from './plugin-host.ts';

// The program runs in the background; a second job waits on our pipe (saved as fd 3: background jobs get
// /dev/null as stdin) and kills the program when the pipe closes. The wrapper exits with the program.
const wrapper = 'exec 3<&0; "$0" "$@" 3<&- </dev/null & pid=$!; echo $pid; (read _ <&3; kill -KILL $pid 2>/dev/null) & wait $pid';

export class NetnsProcess {
  private stderrTail = '';
  private readonly exited: Promise<number | null>;
  private release: () => void = () => undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly what: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => {
      child.stdin?.end();
      resolve(code);
    }));
  }

  /** Starts `argv` in `ns`; with `logFile`, everything it writes to stderr is also appended there. */
  static async start(ns: Netns, argv: readonly string[], env?: Record<string, string>, logFile?: string): Promise<NetnsProcess> {
    const child = spawn('ip', ['netns', 'exec', ns.name, '/bin/sh', '-c', wrapper, ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(env && { env }),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      child.once('exit', (code) => reject(new Error(`${argv[0]} in ${ns.name} exited at once (${code})`)));
    });
    const p = new NetnsProcess(child, pid, `${argv[0]} in ${ns.name}`);
    child.stderr!.on('data', (chunk: Buffer) => {
      p.stderrTail = (p.stderrTail + chunk.toString()).slice(-20_000);
      if (logFile) appendFileSync(logFile, chunk);
    });
    p.release = track(`${p.what} pid ${pid}`, () => p.kill('SIGKILL'));
    return p;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What the program wrote to stderr lately (weftd's logs). */
  get stderr(): string {
    return this.stderrTail;
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // Gone already.
    }
  }

  /** Sends `signal` and waits for the program to exit; its exit code (null when killed by a signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.kill(signal);
    const code = await this.exited;
    this.release();
    return code;
  }
}

/** GETs `url` from inside `ns` (curl: the test's own sockets live in the root namespace). */
export function httpGet(ns: Netns, url: string): { status: number; body: string } {
  const r = run('ip', ['netns', 'exec', ns.name, 'curl', '-s', '-m', '2', '-w', '\n%{http_code}', url]);
  const lines = r.stdout.split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n') };
}

export class EtcdCluster {
  private constructor(
    readonly ns: Netns,
    readonly endpoints: readonly string[],
    readonly members: NetnsProcess[],
  ) {}

  /** One member per address (which must be on an interface of `ns`), client port 2379, peer port 2380. */
  static async start(ns: Netns, addresses: readonly string[]): Promise<EtcdCluster> {
    const dir = createTempDir('etcd');
    const token = `weft-overlay-${ns.name}`;
    const names = addresses.map((_, i) => `m${i}`);
    const initial = names.map((n, i) => `${n}=http://${addresses[i]}:2380`).join(',');
    const members = await Promise.all(addresses.map((address, i) => NetnsProcess.start(ns, [
      '/usr/bin/etcd', '--name', names[i]!, '--data-dir', join(dir, names[i]!),
      '--listen-client-urls', `http://${address}:2379`, '--advertise-client-urls', `http://${address}:2379`,
      '--listen-peer-urls', `http://${address}:2380`, '--initial-advertise-peer-urls', `http://${address}:2380`,
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
      // Short timings: a leader within a second, leases of a few seconds honoured.
      '--heartbeat-interval', '20', '--election-timeout', '200', '--log-level', 'error',
    ])));
    const cluster = new EtcdCluster(ns, addresses.map((a) => `http://${a}:2379`), members);
    for (const endpoint of cluster.endpoints) await cluster.healthy(endpoint);
    return cluster;
  }

  async healthy(endpoint: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!httpGet(this.ns, `${endpoint}/health`).body.includes('"health":"true"')) {
      if (Date.now() > deadline) throw new Error(`etcd at ${endpoint} not healthy: ${this.members.map((m) => m.stderr).join('\n')}`);
      await sleep(100);
    }
  }
}

/** `count` simulated hosts and a one-member etcd (192.0.2.100, in a namespace of its own) on one underlay. */
export async function createEtcdHosts(count: number): Promise<{ hosts: OverlayHost[]; etcd: EtcdCluster }> {
  const { underlay, hosts } = createOverlayHosts(count);
  const etcdHost = createHost(underlay, '192.0.2.100/24', 'oe');
  return { hosts, etcd: await EtcdCluster.start(etcdHost.netns, ['192.0.2.100']) };
}

export interface WeftdOptions {
  readonly nodeName: string;
  readonly store: Record<string, unknown>;
  readonly network: Record<string, unknown>;
  /** A directory for every node's files; each node keeps its own below it across restarts. */
  readonly root: string;
  /** Turns on the xDS server at this address ("unix:/path" reaches it from outside the host's namespace). */
  readonly xdsListen?: string;
  /** The config's "intervals" (seconds). */
  readonly intervals?: Record<string, number>;
  /** The config's "dns" (DNS is on with the machine's /etc/resolv.conf without it). */
  readonly dns?: Record<string, unknown>;
}

export interface NodeFiles {
  /** The state directory: VTEP MAC, config, log. */
  readonly stateDir: string;
  readonly subnetFile: string;
  /** The local API socket: each node its own, never the machine's /run/weft/weftd.sock. */
  readonly socket: string;
  /** The overlay plugin's saved attachments, read by weftd at start. */
  readonly overlayDataDir: string;
}

/** A node's files, all below its state directory. */
export function nodeFiles(root: string, nodeName: string): NodeFiles {
  const stateDir = join(root, nodeName);
  return { stateDir, subnetFile: join(stateDir, 'subnet.env'), socket: join(stateDir, 'weftd.sock'), overlayDataDir: join(stateDir, 'overlay') };
}

/** The built weftd inside the host's namespace, underlay ul0, ops endpoints on the host's 127.0.0.1:9475. */
export async function startWeftd(host: Netns, options: WeftdOptions): Promise<NetnsProcess> {
  const { stateDir, subnetFile, socket, overlayDataDir } = nodeFiles(options.root, options.nodeName);
  mkdirSync(stateDir, { recursive: true });
  const config = {
    nodeName: options.nodeName,
    stateDir,
    subnetFile,
    store: options.store,
    underlay: { interface: 'ul0' },
    listen: '127.0.0.1:9475',
    logLevel: 'debug',
    network: options.network,
    api: { socket, overlayDataDir },
    plugins: pluginsConfig(),
    ...(options.xdsListen ? { xds: { listen: options.xdsListen } } : {}),
    ...(options.intervals ? { intervals: options.intervals } : {}),
    ...(options.dns ? { dns: options.dns } : {}),
  };
  const file = join(stateDir, 'weftd.json');
  writeFileSync(file, JSON.stringify(config));
  // A clean environment, as a service manager gives one.
  return NetnsProcess.start(host, [process.execPath, distBin('weftd'), '--config', file], cleanEnv(), join(stateDir, 'weftd.log'));
}

/** Waits until the daemon in `host` answers /readyz with 200. */
export async function weftdReady(host: Netns, daemon: NetnsProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (httpGet(host, 'http://127.0.0.1:9475/readyz').status !== 200) {
    if (!daemon.running) throw new Error(`weftd in ${host.name} exited:\n${daemon.stderr}`);
    if (Date.now() > deadline) throw new Error(`weftd in ${host.name} not ready after ${timeoutMs} ms:\n${daemon.stderr}`);
    await sleep(100);
  }
}

/** The value of one sample from the daemon's /metrics ("name{labels}"), or undefined. */
export function metric(host: Netns, sample: string): number | undefined {
  const line = httpGet(host, 'http://127.0.0.1:9475/metrics').body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}
