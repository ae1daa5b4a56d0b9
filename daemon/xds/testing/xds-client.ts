// Runs xds-client-process.mjs: a real, independent xDS client (@grpc/grpc-js-xds) in a child process,
// bootstrapped to one xDS server, making calls to `xds:///<service>` on request.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./xds-client-process.mjs', import.meta.url));

export class XdsClientProcess {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { id?: number; results?: unknown; error?: string }) => {
      if (message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.results);
    });
    child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`xds client exited with ${code}`));
      this.pending.clear();
    });
  }

  /**
   * Starts a client of `xds:///<service>` whose only xDS server is `serverAddress`; with `netns`, inside that
   * named network namespace (`ip netns exec`, which keeps the IPC channel).
   */
  static async start(serverAddress: string, service: string, nodeId: string, netns?: string): Promise<XdsClientProcess> {
    const bootstrap = {
      xds_servers: [{ server_uri: serverAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: nodeId, cluster: 'weft-tests', locality: { zone: 'test' } },
    };
    const child = fork(script, [service], {
      env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) },
      ...(netns ? { execPath: 'ip', execArgv: ['netns', 'exec', netns, process.execPath] } : { execArgv: [] }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`xds client exited with ${code} before it was ready`)));
    });
    return new XdsClientProcess(child);
  }

  /** Makes `count` calls one after another; each result is the backend's name or "error <code>". */
  calls(count: number): Promise<string[]> {
    return this.request({ cmd: 'calls', count }) as Promise<string[]>;
  }

  /**
   * Calls in batches of `batch` until a batch satisfies `done`; every result until then, in order. The
   * deadline only bounds a failing test: how fast changes reach clients is bench/xds's to measure.
   */
  async callsUntil(done: (batch: readonly string[]) => boolean, batch = 20, deadlineMs = 15_000): Promise<string[]> {
    const results: string[] = [];
    for (const deadline = Date.now() + deadlineMs; ;) {
      const next = await this.calls(batch);
      results.push(...next);
      if (done(next)) return results;
      if (Date.now() > deadline) throw new Error(`calls did not settle within ${deadlineMs} ms: ${JSON.stringify(results.slice(-2 * batch))}`);
    }
  }

  /** Calls back to back, in this process's own time, until `stop()` returns what they all answered. */
  async watch(): Promise<{ stop: () => Promise<string[]> }> {
    await this.request({ cmd: 'watch' });
    return { stop: () => this.request({ cmd: 'stop' }) as Promise<string[]> };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill();
    await exited;
  }

  private request(message: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...message, id });
    });
  }
}
