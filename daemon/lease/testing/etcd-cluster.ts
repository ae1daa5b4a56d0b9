// Real etcd members for tests, on 127.0.0.1 (or on addresses inside a test's network namespace) and free
// high ports, each with its own data directory in a temporary folder, all removed by `stop()`. Each member runs under a small shell that kills it when the
// test process goes away (its stdin, a pipe from us, closes), so a crashed test run leaves no etcd behind.
// Timings are shortened (10 ms heartbeat, 100 ms election) so that leases as short as 1 s work and a
// cluster elects a leader in well under a second.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const etcdBinary = process.env.WEFT_TEST_ETCD ?? '/usr/bin/etcd';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ClusterOptions {
  /** Run the members inside this network namespace (by name), each on its own address below. */
  readonly netns?: string;
  /** One listening address per member (default 127.0.0.1 for all). */
  readonly addresses?: readonly string[];
  /** Serve clients over TLS with these files and require client certificates signed by `ca`. */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

/** GET (or POST `body` to) `url` from where the members run; undefined when nothing answers. */
async function request(url: string, netns: string | undefined, body?: string): Promise<unknown> {
  if (!netns) {
    const res = await fetch(url, { method: body === undefined ? 'GET' : 'POST', body, signal: AbortSignal.timeout(1000) });
    return res.json();
  }
  const args = ['netns', 'exec', netns, 'curl', '-s', '--max-time', '1', ...(body === undefined ? [] : ['-X', 'POST', '-d', body]), url];
  const text = await new Promise<string>((resolve, reject) => {
    execFile('ip', args, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  return JSON.parse(text);
}

export class EtcdMember {
  private wrapper: ChildProcess | undefined;
  private pid: number | undefined;
  private stderr = '';

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    /** Plain HTTP for /health (clients may be on TLS). */
    private readonly metricsUrl: string,
    readonly dataDir: string,
    private readonly initialCluster: string,
    private readonly token: string,
    private readonly netns: string | undefined,
    private readonly tls: ClusterOptions['tls'],
  ) {}

  /** Starts the member (again, after `kill`: its data directory makes it rejoin). */
  async start(): Promise<void> {
    const args = [
      '--name', this.name, '--data-dir', this.dataDir,
      '--listen-client-urls', this.clientUrl, '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', this.peerUrl, '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', this.initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', this.token,
      '--listen-metrics-urls', this.metricsUrl,
      ...(this.tls ? ['--cert-file', this.tls.cert, '--key-file', this.tls.key, '--trusted-ca-file', this.tls.ca, '--client-cert-auth'] : []),
      '--heartbeat-interval', '10', '--election-timeout', '100',
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'error',
    ];
    const script = '"$0" "$@" & pid=$!; echo $pid; read _; kill $pid 2>/dev/null; wait $pid';
    const command = ['/bin/sh', '-c', script, etcdBinary, ...args];
    const [file, ...rest] = this.netns ? ['ip', 'netns', 'exec', this.netns, ...command] : command;
    const wrapper = spawn(file!, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.wrapper = wrapper;
    this.stderr = '';
    wrapper.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.pid = await new Promise<number>((resolve, reject) => {
      wrapper.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      wrapper.once('error', reject);
      wrapper.once('exit', () => reject(new Error(`etcd ${this.name} exited at once: ${this.stderr}`)));
    });
  }

  /** Waits until this member answers /health (which needs a leader). */
  async healthy(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (((await request(`${this.metricsUrl}/health`, this.netns)) as { health?: string }).health === 'true') return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`etcd ${this.name} not healthy after ${timeoutMs} ms: ${this.stderr}`);
      await sleep(50);
    }
  }

  /** Stops the member with `signal` (SIGKILL: a crash) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const wrapper = this.wrapper;
    if (!wrapper || this.pid === undefined) return;
    const exited = new Promise<void>((resolve) => {
      if (wrapper.exitCode !== null || wrapper.signalCode !== null) resolve();
      else wrapper.once('exit', () => resolve());
    });
    try {
      process.kill(this.pid, signal);
    } catch {
      // Already gone.
    }
    wrapper.stdin!.end();
    await exited;
    this.wrapper = undefined;
    this.pid = undefined;
  }

  /** Kills the member at once without waiting (for synchronous cleanup, e.g. at process exit). */
  killNow(): void {
    if (this.pid === undefined) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    this.wrapper?.stdin?.end();
  }

  /** Pauses (SIGSTOP) or resumes (SIGCONT) the member without ending it. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.pid !== undefined) process.kill(this.pid, signal);
  }
}

export class EtcdCluster {
  private constructor(
    readonly members: readonly EtcdMember[],
    private readonly root: string,
    private readonly netns: string | undefined,
  ) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  static async start(size = 1, options: ClusterOptions = {}): Promise<EtcdCluster> {
    const root = mkdtempSync(join(tmpdir(), 'weft-etcd-'));
    const token = `weft-test-${randomBytes(4).toString('hex')}`;
    const ports = await Promise.all(Array.from({ length: size * 3 }, () => freePort()));
    const names = Array.from({ length: size }, (_, i) => `${token}-m${i}`);
    const hosts = names.map((_, i) => options.addresses?.[i] ?? '127.0.0.1');
    const peerUrls = names.map((_, i) => `http://${hosts[i]}:${ports[3 * i + 1]}`);
    const initialCluster = names.map((n, i) => `${n}=${peerUrls[i]}`).join(',');
    const scheme = options.tls ? 'https' : 'http';
    const members = names.map((name, i) =>
      new EtcdMember(name, `${scheme}://${hosts[i]}:${ports[3 * i]}`, peerUrls[i]!, `http://${hosts[i]}:${ports[3 * i + 2]}`,
        join(root, name), initialCluster, token, options.netns, options.tls));
    const cluster = new EtcdCluster(members, root, options.netns);
    try {
      await Promise.all(members.map((m) => m.start()));
      await Promise.all(members.map((m) => m.healthy()));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** The member that leads the cluster now (asked through etcd's JSON gateway). */
  async leader(): Promise<EtcdMember> {
    for (const member of this.members) {
      try {
        const status = (await request(`${member.clientUrl}/v3/maintenance/status`, this.netns, '{}')) as { header: { member_id: string }; leader: string };
        if (status.header.member_id === status.leader) return member;
      } catch {
        // A member that is down leads nothing.
      }
    }
    throw new Error('no member leads the cluster');
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill('SIGKILL')));
    rmSync(this.root, { recursive: true, force: true, maxRetries: 5 });
  }

  /** `stop` without waiting: kills every member and removes the data (cleanup registries, exit handlers). */
  stopNow(): void {
    for (const member of this.members) member.killNow();
    rmSync(this.root, { recursive: true, force: true, maxRetries: 5 });
  }
}
