// Container runtimes from Debian (containerd with `ctr`, Podman) run against weft the way a user runs them,
// yet leave the machine alone: each runs inside a test's host namespace (so the containers' veths, the
// bridge and the nftables rules land there) and in a private mount namespace where scratch directories
// stand in for the paths a runtime reads and writes (/etc/cni/net.d, /opt/cni/bin, /var/lib/cni, its own
// state under /run). A path the machine lacks is made inside an overlay of its nearest existing parent,
// whose writes go to the scratch directory too.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, symlinkSync, copyFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect } from 'vitest';
import { parseIp } from '../../../lib/ip/address.ts';
import { netContains, parseCidr } from '../../../lib/ip/cidr.ts';
import { links, weftChains } from './bridge.ts';
import { track } from './cleanup.ts';
import { cleanEnv, run, runChecked, type CommandResult } from './command.ts';
import { distBin } from './cni.ts';
import type { Netns } from './netns.ts';
import { cable, countArrivals, counted } from './nat.ts';

/** The busybox applets the tests' containers use. */
const APPLETS = ['sh', 'ip', 'ping', 'sleep', 'cat'];

/** A root filesystem holding Debian's static busybox and the applets as links to it. */
export function busyboxRootfs(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  for (const applet of APPLETS) symlinkSync('busybox', join(dir, 'bin', applet));
  // Podman and runc bind files and mount points here; an image's unpacking makes them itself.
  for (const sub of ['etc', 'proc', 'sys', 'dev', 'tmp', 'run']) mkdirSync(join(dir, sub), { recursive: true });
  return dir;
}

function blob(layoutDir: string, content: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(content).digest('hex');
  writeFileSync(join(layoutDir, 'blobs/sha256', hex), content);
  return { digest: `sha256:${hex}`, size: content.length };
}

/**
 * Writes an OCI image layout (one uncompressed layer: `rootfs`) as the tar `ctr images import` takes, named
 * `name` — there is no registry to pull from.
 */
export function ociImageTar(rootfs: string, workDir: string, name: string): string {
  const layout = join(workDir, 'layout');
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  const layerTar = join(workDir, 'layer.tar');
  runChecked('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', layerTar, '.']);
  const layer = blob(layout, readFileSync(layerTar));
  const config = blob(layout, Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  })));
  const manifest = blob(layout, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  })));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': name } }],
  }));
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const out = join(workDir, 'image.tar');
  runChecked('tar', ['-C', layout, '-cf', out, '.']);
  return out;
}

/**
 * A shell script that shows each `directory` at its `path` in the current (private) mount namespace, then
 * runs its arguments. `scratch` takes an overlay's writes when a path does not exist on the machine.
 */
function privateViewScript(views: Record<string, string>, scratch: string): string {
  const lines = [
    'set -e',
    'view() {',
    '  p=$1; a=$1',
    '  while [ ! -e "$a" ]; do a=$(dirname "$a"); done',
    '  if [ "$a" != "$p" ]; then',
    `    k=${scratch}/overlay$(echo "$a" | tr / _); mkdir -p "$k/upper" "$k/work"`,
    '    mount -t overlay overlay -o "lowerdir=$a,upperdir=$k/upper,workdir=$k/work" "$a"',
    '    mkdir -p "$p"',
    '  fi',
    '  mount --bind "$2" "$p"',
    '}',
  ];
  for (const [path, dir] of Object.entries(views)) lines.push(`view '${path}' '${dir}'`);
  lines.push('exec "$@"');
  return lines.join('\n');
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitGone(pid: number, ms: number): boolean {
  const until = Date.now() + ms;
  while (existsSync(`/proc/${pid}`) && Date.now() < until) sleepMs(20);
  return !existsSync(`/proc/${pid}`);
}

/** A long-running program (a runtime's daemon) in `host`'s network namespace and a private mount view. */
export class PrivateRuntime {
  readonly pid: number;
  private readonly child: ChildProcess;

  constructor(host: Netns, views: Record<string, string>, scratch: string, command: readonly string[], logFile: string) {
    const log = openSync(logFile, 'a');
    // nsenter --net rather than `ip netns exec`, which mounts a fresh /sys and so hides the cgroup mounts runc needs.
    this.child = spawn('nsenter', [`--net=${host.path}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
      privateViewScript(views, scratch), 'sh', ...command], { stdio: ['ignore', log, log] });
    closeSync(log);
    this.pid = this.child.pid!;
    // nsenter, unshare and the script exec one another: the command runs, views in place, once the
    // process bears its name.
    const until = Date.now() + 5_000;
    const comm = () => readFileSync(`/proc/${this.pid}/comm`, 'utf8').trim();
    while (existsSync(`/proc/${this.pid}`) && comm() !== basename(command[0]!).slice(0, 15) && Date.now() < until) sleepMs(10);
    if (!existsSync(`/proc/${this.pid}`) || comm() !== basename(command[0]!).slice(0, 15)) {
      throw new Error(`${command.join(' ')} did not start in its namespaces: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
  }

  /** Runs `file args` inside the same network and mount namespaces. */
  exec(file: string, args: readonly string[], timeoutMs = 30_000): CommandResult {
    return run('nsenter', ['-t', String(this.pid), '-m', '-n', file, ...args], { timeoutMs });
  }

  /** Starts `file args` inside the namespaces without waiting; resolves with its result when it ends. */
  start(file: string, args: readonly string[]): Promise<CommandResult> {
    const child = spawn('nsenter', ['-t', String(this.pid), '-m', '-n', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stop = track(`process ${child.pid} (${file} ${args.join(' ')})`, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    return new Promise((resolve) => child.on('close', (status, signal) => {
      stop();
      resolve({ command: [file, ...args].join(' '), status, signal, stdout, stderr });
    }));
  }

  /** Stops the daemon: SIGTERM, then SIGKILL after 5 s. */
  stop(): void {
    if (!existsSync(`/proc/${this.pid}`)) return;
    this.child.kill('SIGTERM');
    if (!waitGone(this.pid, 5_000)) {
      this.child.kill('SIGKILL');
      waitGone(this.pid, 2_000);
    }
  }
}

/** Makes `dir` and its parents; returns it. */
export function dirIn(parent: string, ...parts: string[]): string {
  const dir = join(parent, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Rewrites a JSON file through `change` (atomically: runtimes may read it at any moment). */
export function editJson(path: string, change: (value: Record<string, unknown>) => void): void {
  const value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  change(value);
  writeFileSync(`${path}.tmp`, JSON.stringify(value), { mode: statSync(path).mode });
  renameSync(`${path}.tmp`, path);
}

/** `weft install ARGS` run in `host` (whose routes it checks) into the given directories. */
export function installWeft(host: Netns, binDir: string, confDir: string, ...args: string[]): CommandResult {
  return run('ip', ['netns', 'exec', host.name, distBin('weft'), 'install', '--bin-dir', binDir, '--conf-dir', confDir, ...args], { env: cleanEnv() });
}

/** The address, its subnet, of the weft-bridge network `confDir` holds. */
export function bridgeSubnet(confDir: string): string {
  for (const name of readdirSync(confDir)) {
    const conf = JSON.parse(readFileSync(join(confDir, name), 'utf8')) as { name: string; plugins: [{ ipam?: { ranges: [[{ subnet: string }]] } }] };
    if (conf.name === 'weft-bridge') return conf.plugins[0].ipam!.ranges[0][0].subnet;
  }
  throw new Error(`no weft-bridge network in ${confDir}`);
}

/**
 * Cables `host` to `outside`, which knows the host's address (192.0.2.1) only: a reply reaches a container
 * solely through masquerade. Counts the echo requests arriving there from the host and from `subnet`.
 */
export function cableOutside(host: Netns, outside: Netns, subnet: string): void {
  cable(host, 'up0', ['192.0.2.1/24'], outside, 'wan0', ['192.0.2.2/24']);
  countArrivals(outside, { fromhost: '192.0.2.1', fromcontainers: subnet });
}

/** What the containers' attachments leave in the host namespace and the CNI state directory (/var/lib/cni). */
export function attachmentTraces(host: Netns, varLibCni: string): { links: string[]; allocations: string[]; cached: string[]; chains: string[] } {
  const list = (...parts: string[]) => (existsSync(join(varLibCni, ...parts)) ? readdirSync(join(varLibCni, ...parts)) : []);
  return {
    links: links(host).map((l) => l.ifname).filter((name) => !['lo', 'up0', 'weftbr0'].includes(name)),
    allocations: list('networks', 'weft-bridge').filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')),
    cached: list('results'),
    chains: weftChains(host).map((c) => c.name),
  };
}

export const noTraces = { links: [], allocations: [], cached: [], chains: [] };

/** A runtime's view of its running containers, by name. */
export interface RunningContainers {
  /** The container's IPv4 address on eth0. */
  address(name: string): string | undefined;
  pings(name: string, target: string): boolean;
}

/**
 * Checks containers `one` and `two`, running on weft-bridge: addresses in `subnet`, made by weft's bridge
 * (the reference's, in Debian's /usr/lib/cni, makes no inet weft chains), pings between them and, through
 * masquerade, to the outside of cableOutside.
 */
export function expectConnected(containers: RunningContainers, host: Netns, outside: Netns, subnet: string, varLibCni: string): void {
  const [a, b] = [containers.address('one'), containers.address('two')];
  for (const ip of [a, b]) expect(ip !== undefined && netContains(parseCidr(subnet), parseIp(ip)), `${ip} in ${subnet}`).toBe(true);
  expect(a).not.toBe(b);
  expect(attachmentTraces(host, varLibCni)).toMatchObject({
    links: [expect.stringMatching(/^veth/), expect.stringMatching(/^veth/)],
    chains: [expect.stringMatching(/^masq-/), expect.stringMatching(/^masq-/)],
  });
  expect(containers.pings('one', b!)).toBe(true);
  expect(containers.pings('two', a!)).toBe(true);
  expect(containers.pings('two', '192.0.2.2')).toBe(true);
  expect(counted(outside, 'fromhost')).toBeGreaterThan(0);
  expect(counted(outside, 'fromcontainers')).toBe(0);
}

function removeCgroupTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeCgroupTree(join(dir, entry.name));
  rmdirSync(dir);
}

/**
 * Registers the removal of cgroup `name` (top level; in every v1 hierarchy, or the v2 one): the runtimes'
 * containers live below it, and runc leaves the parents it made behind. Returns `name`.
 */
export function trackCgroup(name: string): string {
  track(`cgroup ${name}`, () => {
    const roots = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c))];
    for (const dir of roots.map((root) => join(root, name)).filter((dir) => existsSync(dir))) removeCgroupTree(dir);
  });
  return name;
}
