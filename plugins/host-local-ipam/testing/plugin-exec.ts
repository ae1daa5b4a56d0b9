// Runs a CNI plugin executable the way a runtime does: a clean environment (PATH and CNI_* only, so no
// NODE_EXTRA_CA_CERTS and its ~90 ms), the config on stdin. Used by the process tests and bench/ipam.
// In the plugins-via-weftd test project the runtime sits in a namespace of the test run's own where a weftd
// serves the calls (WEFT_TEST_PLUGINS_NETNS), so the same tests cover both ways a call can go.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fallbackDirectory } from '../../../lib/resident/protocol.ts';

export const REFERENCE_HOST_LOCAL = '/usr/lib/cni/host-local';
const BUILT = join(dirname(fileURLToPath(import.meta.url)), '../../../dist/bin/host-local');
const BUILT_NODE = join(dirname(BUILT), fallbackDirectory, 'host-local');

export interface CniCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
  containerId?: string;
  ifname?: string;
  netns?: string;
  args?: string;
  config: object | string;
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: any;
}

export const CLEAN_PATH = `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`;

export function cniEnv(call: CniCall): Record<string, string> {
  const env: Record<string, string> = { PATH: CLEAN_PATH, CNI_COMMAND: call.command, CNI_PATH: '/opt/cni/bin' };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.ifname !== undefined || call.containerId !== undefined) env.CNI_IFNAME = call.ifname ?? 'eth0';
  if (call.command === 'ADD' || call.command === 'CHECK' || call.netns) env.CNI_NETNS = call.netns ?? '/var/run/netns/wt-none';
  if (call.args) env.CNI_ARGS = call.args;
  return env;
}

function stdinOf(call: CniCall): string {
  if (typeof call.config === 'string') return call.config;
  // A test must never fall back to the host's /var/lib/cni/networks.
  const ipam = (call.config as { ipam?: { dataDir?: unknown } }).ipam;
  if (ipam && typeof ipam === 'object' && !ipam.dataDir) throw new Error('plugin-exec: set ipam.dataDir to a temporary folder');
  return JSON.stringify(call.config);
}

function finish(code: number | null, stdout: string, stderr: string): PluginRun {
  let json: unknown;
  try {
    json = stdout.trim() === '' ? undefined : JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code: code ?? -1, stdout, stderr, json };
}

/**
 * The program and arguments that run `binary`: inside the namespace WEFT_TEST_PLUGINS_NETNS names, where a
 * weftd serves the calls, when the plugins-via-weftd test project set one (test/netns/testing/plugin-host.ts).
 */
function command(binary: string): [string, string[]] {
  const served = process.env.WEFT_TEST_PLUGINS_NETNS;
  return served ? ['ip', ['netns', 'exec', served, binary]] : [binary, []];
}

export function runPlugin(binary: string, call: CniCall): PluginRun {
  const [file, args] = command(binary);
  const child = spawnSync(file, args, { env: cniEnv(call), input: stdinOf(call), encoding: 'utf8' });
  if (child.error) throw child.error;
  return finish(child.status, child.stdout, child.stderr);
}

export function runPluginAsync(binary: string, call: CniCall): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const [file, args] = command(binary);
    const child = spawn(file, args, { env: cniEnv(call), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve(finish(code, stdout, stderr)));
    child.stdin.end(stdinOf(call));
  });
}

/**
 * A copy of the built dist/bin/host-local (the launcher) and the Node plugin it runs in a fresh folder, as
 * they would sit in /opt/cni/bin: inside this repository Node would load the extensionless bundle as an ES
 * module (package.json says "module").
 */
export function installedHostLocal(): string {
  if (!existsSync(BUILT) || !existsSync(BUILT_NODE)) throw new Error(`${BUILT} is missing: run "node build.mjs" first`);
  const dir = mkdtempSync(join(tmpdir(), 'wt-cnibin-'));
  mkdirSync(join(dir, fallbackDirectory));
  copyFileSync(BUILT_NODE, join(dir, fallbackDirectory, 'host-local'));
  copyFileSync(BUILT, join(dir, 'host-local'));
  return join(dir, 'host-local');
}
