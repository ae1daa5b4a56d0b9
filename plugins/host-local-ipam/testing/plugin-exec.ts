// Runs a CNI plugin executable the way a runtime does: a clean environment (PATH and CNI_* only, so no
// NODE_EXTRA_CA_CERTS and its ~90 ms), the config on stdin. Used by the process tests and bench/ipam.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REFERENCE_HOST_LOCAL = '/usr/lib/cni/host-local';
const BUILT = join(dirname(fileURLToPath(import.meta.url)), '../../../dist/bin/host-local');

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

export function runPlugin(binary: string, call: CniCall): PluginRun {
  const child = spawnSync(binary, [], { env: cniEnv(call), input: stdinOf(call), encoding: 'utf8' });
  if (child.error) throw child.error;
  return finish(child.status, child.stdout, child.stderr);
}

export function runPluginAsync(binary: string, call: CniCall): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env: cniEnv(call), stdio: ['pipe', 'pipe', 'pipe'] });
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
 * A copy of the built dist/bin/host-local in a fresh folder, as it would sit in /opt/cni/bin: inside this
 * repository Node would load the extensionless bundle as an ES module (package.json says "module").
 */
export function installedHostLocal(): string {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run "node build.mjs" first`);
  const target = join(mkdtempSync(join(tmpdir(), 'wt-cnibin-')), 'host-local');
  copyFileSync(BUILT, target);
  return target;
}
