// For the overlay plugin's kernel tests: one simulated host running the built weftd (embedded store) with
// its local API socket (and optionally xDS), and the built overlay plugin run inside that host's namespace
// the way a runtime on that host runs it. Everything below the node's temp directory and namespaces.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { distBin, repoRoot } from './cni.ts';
import { cleanEnv, run, type CommandResult } from './command.ts';
import { createTempDir } from './files.ts';
import type { Netns } from './netns.ts';
import { createOverlayHosts, type OverlayHost } from './overlay.ts';
import { pluginsConfig } from './plugin-host.ts';
import { NetnsProcess, weftdReady } from './overlay-processes.ts';

export interface OverlayNode {
  readonly host: OverlayHost;
  readonly root: string;
  readonly socket: string;
  readonly dataDir: string;
  readonly subnetFile: string;
  daemon: NetnsProcess;
  /** Starts the daemon again (after `daemon.stop()`), waiting until it is ready. */
  restart(): Promise<void>;
}

/** A host with weftd running and ready; `xdsListen` turns on its xDS server. */
export async function startOverlayNode(options: { xdsListen?: string } = {}): Promise<OverlayNode> {
  const host = createOverlayHosts(1).hosts[0]!;
  const root = createTempDir('ovplug');
  const stateDir = join(root, 'state');
  mkdirSync(stateDir, { recursive: true });
  const socket = join(root, 'weftd.sock');
  const dataDir = join(root, 'overlay');
  const subnetFile = join(root, 'subnet.env');
  const configFile = join(root, 'weftd.json');
  writeFileSync(configFile, JSON.stringify({
    nodeName: 'node-a', stateDir, subnetFile, underlay: { interface: 'ul0' }, listen: '127.0.0.1:9475', logLevel: 'debug',
    api: { socket, overlayDataDir: dataDir }, plugins: pluginsConfig(),
    ...(options.xdsListen ? { xds: { listen: options.xdsListen } } : {}),
    network: { network: '10.244.0.0/16', vni: 7 },
  }));
  const start = async () => {
    const daemon = await NetnsProcess.start(host.netns, [process.execPath, distBin('weftd'), '--config', configFile], cleanEnv(), join(root, 'weftd.log'));
    await weftdReady(host.netns, daemon);
    return daemon;
  };
  const node: OverlayNode = {
    host, root, socket, dataDir, subnetFile,
    daemon: await start(),
    async restart() {
      node.daemon = await start();
    },
  };
  return node;
}

/** The overlay network config for `node`'s files. */
export function overlayConfig(node: OverlayNode, extra: object = {}): object {
  return {
    cniVersion: '1.1.0', name: 'wtov', type: 'overlay',
    subnetFile: node.subnetFile, dataDir: node.dataDir, socket: node.socket, ipamDataDir: join(node.root, 'ipam'), ...extra,
  };
}

/**
 * Runs dist/bin/overlay inside `host` (where its bridge lives) with a runtime's clean environment; `wrapper`
 * is a program run instead, with the plugin as its arguments (strace).
 */
export function runOverlay(host: Netns, vars: Record<string, string>, config: unknown, wrapper: readonly string[] = []): CommandResult {
  return run('ip', ['netns', 'exec', host.name, ...wrapper, distBin('overlay')], {
    env: cleanEnv({ CNI_PATH: `${repoRoot}dist/bin`, ...vars }),
    input: typeof config === 'string' ? config : JSON.stringify(config),
  });
}

/** ADD/DEL of `container` with interface eth0. */
export function attachmentVars(command: string, containerId: string, container: Netns, args = ''): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: container.path, CNI_IFNAME: 'eth0', CNI_ARGS: args };
}
