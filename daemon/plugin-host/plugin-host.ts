// weftd's plugin host: the CNI plugins' calls, handed over by their launchers, run here warm — the same
// plugin code as the Node executables (compiled once, netlink addon loaded), in worker threads
// (worker-pool.ts), behind the socket of server.ts. The worker's code and the build identity come from
// build.mjs: the worker bundle travels inside weftd as a string, as the netlink addon does, and the
// identity is the hash of the plugin code the launchers of the same build fall back to.
import type { MetricsRegistry } from '../ops/metrics.ts';
import type { Logger } from '../log.ts';
import { CallMetrics } from './call-metrics.ts';
import { startPluginServer, type PluginServer } from './server.ts';
import { WorkerPool } from './worker-pool.ts';

declare const __WEFT_PLUGIN_HOST_WORKER__: string | undefined;
declare const __WEFT_BUILD_ID__: string | undefined;

export interface PluginHostOptions {
  readonly workers: number;
  readonly socketDir: string;
}

export interface PluginHost {
  readonly socket: string;
  close(): Promise<void>;
}

/** The plugin host's code and build when this weftd is a bundle (build.mjs); undefined when run from source. */
export function bundledPluginHost(): { code: string; build: string } | undefined {
  if (typeof __WEFT_PLUGIN_HOST_WORKER__ !== 'string' || typeof __WEFT_BUILD_ID__ !== 'string') return undefined;
  return { code: __WEFT_PLUGIN_HOST_WORKER__, build: __WEFT_BUILD_ID__ };
}

export async function startPluginHost(
  options: PluginHostOptions,
  bundle: { code: string; build: string },
  log: Logger,
  registry: MetricsRegistry,
): Promise<PluginHost> {
  const metrics = new CallMetrics();
  metrics.register(registry);
  const pool = new WorkerPool(bundle.code, options.workers, (err) => log.error('a plugin host worker crashed', { error: err }));
  let server: PluginServer;
  try {
    server = await startPluginServer({ build: bundle.build, socketDir: options.socketDir, run: (call) => pool.run(call), metrics, log });
  } catch (err) {
    await pool.close();
    throw err;
  }
  log.info('serving plugin calls', { socket: server.path, workers: options.workers, build: bundle.build });
  return {
    socket: server.path,
    async close() {
      await server.close();
      await pool.close();
    },
  };
}
