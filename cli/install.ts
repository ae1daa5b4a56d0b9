// `weft install`: copies the suite's plugins into a CNI bin directory and writes the shipped network
// configurations into a config directory, named and filled in as install-plan.ts decides (cniVersion,
// subnets, which network becomes the default). Plugins are replaced (an upgrade); a configuration that
// defines a shipped network's name is kept unless forced, since an administrator may have edited it. Each
// file is written under a temporary name and renamed into place, so a runtime never executes or reads half
// a file.
// A plugin is its native launcher, `<bin>/<name>`, and the Node plugin it runs when weftd does not serve the
// call, `<bin>/weft-plugins/<name>` (lib/resident); the Node plugin goes in first, so no launcher is ever
// without it.
//
// A plugin's first line names its interpreter. The bundles say `#!/usr/bin/env node`; installed, they name
// the Node that ran the install, as pip and gem do for the scripts they install: a runtime starts plugins
// with its own PATH, which need not lead to Node (nvm, /usr/local), and the detour through env costs about a
// millisecond of every plugin run. Moving or removing that Node means installing again.
import { chmodSync, closeSync, copyFileSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import type { JsonObject } from '../lib/json/json-value.ts';
import { formatCidr } from '../lib/ip/cidr.ts';
import { withNetlink } from '../lib/netlink/index.ts';
import { configSubnets, planInstall, type HostRoute, type InstallChoices, type InstallPlan, type NamedFile, type PresentConfig, type Template } from './install-plan.ts';
import { fallbackDirectory } from '../lib/resident/protocol.ts';
import { EXAMPLE_CONFIG_EXTENSION, SUITE_PLUGINS } from './suite.ts';

export interface InstallOptions extends InstallChoices {
  /** Where the plugin bundles are (dist/bin, beside the weft executable). */
  readonly sourceBinDir: string;
  /** Where the example configurations are (conf/net.d in the source tree); may not exist. */
  readonly sourceConfDir: string;
  readonly binDir: string;
  readonly confDir: string;
  /** The host's routes: subnets in use that a network must not take. */
  readonly routes: readonly HostRoute[];
  /** The Node executable installed plugins name on their first line (the CLI passes its own). */
  readonly interpreter?: string;
}

export interface InstallReport {
  /** Plugin paths written. */
  readonly installed: string[];
  /** Suite plugins not found in the source directory. */
  readonly missing: string[];
  /** The network configs: what was written, kept and removed, and the default network before and after. */
  readonly plan: InstallPlan;
}

// The extensions libcni's ConfFiles lists, as containerd and CRI-O call it: what sorts for the default.
const CONFIG_EXTENSIONS = ['.conf', '.conflist', '.json'];
// A network config is a few hundred bytes; a file far larger is no config (and is not read whole).
const CONFIG_MAX_BYTES = 1 << 20;

const envShebang = '#!/usr/bin/env node\n';

/** Writes `target` whole through a temporary file renamed into place; `write` fills the temporary file. */
function placeFile(target: string, mode: number, write: (temporary: string) => void): void {
  const temporary = `${target}.weft-install-${process.pid}`;
  try {
    write(temporary);
    chmodSync(temporary, mode);
    renameSync(temporary, target);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw new CniError(ErrorCode.IoFailure, `installing ${target}`, (err as Error).message, { cause: err });
  }
}

/** Copies `source` to `target` whole; with `interpreter`, a first line `#!/usr/bin/env node` names it instead. */
function copyInto(source: string, target: string, mode: number, interpreter?: string): void {
  placeFile(target, mode, (temporary) => {
    const text = interpreter === undefined ? undefined : readFileSync(source, 'latin1');
    if (text?.startsWith(envShebang)) writeFileSync(temporary, `#!${interpreter}\n${text.slice(envShebang.length)}`, 'latin1');
    else copyFileSync(source, temporary);
  });
}

function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    // mkdir's EEXIST for an existing file does not say what is wrong with it.
    const reason = (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'exists and is not a directory' : (err as Error).message;
    throw new CniError(ErrorCode.IoFailure, `creating ${dir}`, reason, { cause: err });
  }
}

/** Names of the files in `dir` with one of `extensions`, sorted; none when `dir` is missing or no directory. */
function configNames(dir: string, extensions: readonly string[]): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    // Creating the directory, later, says what is wrong with a file in its place.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new CniError(ErrorCode.IoFailure, `reading ${dir}`, (err as Error).message, { cause: err });
  }
  return entries
    .filter((entry) => !entry.isDirectory() && extensions.includes(extname(entry.name)))
    .map((entry) => entry.name)
    .sort();
}

/** A config file's JSON object: regular files only, at most CONFIG_MAX_BYTES; undefined for anything else. */
function readConfig(path: string): JsonObject | undefined {
  try {
    const fd = openSync(path, 'r');
    try {
      if (!fstatSync(fd).isFile()) return undefined;
      const buffer = Buffer.alloc(CONFIG_MAX_BYTES + 1);
      const length = readSync(fd, buffer, 0, buffer.length, 0);
      const value: unknown = length > CONFIG_MAX_BYTES ? undefined : JSON.parse(buffer.toString('utf8', 0, length));
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** The network configs in the target directory: file, network name, subnets. */
function presentConfigs(dir: string): PresentConfig[] {
  return configNames(dir, CONFIG_EXTENSIONS).map((file) => {
    const conf = readConfig(join(dir, file));
    return {
      file,
      ...(typeof conf?.name === 'string' && { network: conf.name }),
      ...(typeof conf?.cniVersion === 'string' && { cniVersion: conf.cniVersion }),
      subnets: conf ? configSubnets(conf) : [],
    };
  });
}

/** The shipped network configs; one that does not parse is a broken build. */
function templates(dir: string): Template[] {
  return configNames(dir, [EXAMPLE_CONFIG_EXTENSION]).map((file) => {
    const conf = readConfig(join(dir, file));
    if (!conf) throw new CniError(ErrorCode.InvalidNetworkConfig, `${join(dir, file)} is no network config`);
    return { file, conf };
  });
}

export function installSuite(options: InstallOptions): InstallReport {
  // Decided first: a refused choice (a colliding subnet) installs nothing.
  const plan = planInstall(presentConfigs(options.confDir), templates(options.sourceConfDir), options.routes, options);
  const installed: string[] = [];
  const missing: string[] = [];
  const plugins = SUITE_PLUGINS.filter((name) => existsSync(join(options.sourceBinDir, name)));
  missing.push(...SUITE_PLUGINS.filter((name) => !plugins.includes(name)));
  if (plugins.length === 0) {
    throw new CniError(ErrorCode.IoFailure, `no weft plugins in ${options.sourceBinDir}`, 'build them first: node build.mjs');
  }
  makeDir(options.binDir);
  for (const name of plugins) {
    const nodePlugin = join(options.sourceBinDir, fallbackDirectory, name);
    if (existsSync(nodePlugin)) {
      makeDir(join(options.binDir, fallbackDirectory));
      const nodeTarget = join(options.binDir, fallbackDirectory, name);
      copyInto(nodePlugin, nodeTarget, 0o755, options.interpreter);
      installed.push(nodeTarget);
    }
    const target = join(options.binDir, name);
    copyInto(join(options.sourceBinDir, name), target, 0o755, options.interpreter);
    installed.push(target);
  }
  if (plan.write.length > 0) makeDir(options.confDir);
  for (const config of plan.write) {
    placeFile(join(options.confDir, config.file), 0o644, (temporary) => writeFileSync(temporary, `${JSON.stringify(config.conf, null, 2)}\n`));
  }
  for (const file of plan.remove) rmSync(join(options.confDir, file), { force: true });
  return { installed, missing, plan };
}

/**
 * The routes of this namespace's main table (both families), with their devices' names; none, and a word
 * to `warn`, when they cannot be read (the netlink addon cannot load, say, for a user who is not root).
 */
export function hostRoutes(warn: (reason: string) => void): HostRoute[] {
  try {
    return withNetlink(undefined, (nl) => {
      const devices = new Map(nl.linkList().map((link) => [link.index, link.name]));
      return nl.routeList().flatMap((route) => (route.link === undefined ? [] : [{ dst: route.dst, device: devices.get(route.link) ?? '?' }]));
    });
  } catch (err) {
    warn((err as Error).message);
    return [];
  }
}

function describeFile(file: NamedFile): string {
  return `${file.network ?? 'a file that does not parse'} (${file.file})`;
}

/** What `weft install` prints: each file written or kept, and the default network before and after. */
export function formatInstallReport(report: InstallReport, confDir: string): string {
  const lines = report.installed.map((path) => `installed ${path}`);
  const { plan } = report;
  for (const config of plan.write) {
    const subnets = config.subnets.length > 0 ? `, subnets ${config.subnets.map(formatCidr).join(' ')}` : '';
    lines.push(`installed ${join(confDir, config.file)}: network ${config.network}, cniVersion ${String(config.conf.cniVersion)}${subnets}`);
  }
  for (const file of plan.kept) {
    lines.push(`kept ${join(confDir, file.file)}: it defines network ${file.network}, cniVersion ${file.cniVersion ?? '?'} (--force replaces it)`);
  }
  for (const file of plan.remove) lines.push(`removed ${join(confDir, file)}: replaced`);
  const { defaultBefore: before, defaultAfter: after } = plan;
  if (after) {
    const change = !before ? 'the directory held no other network' : before.file === after.file ? 'unchanged' : `was ${describeFile(before)}`;
    lines.push(`default network in ${confDir}: ${describeFile(after)}, ${change}`);
    lines.push('  containerd (ctr, CRI) and CRI-O take the first file as the default; weft install --default NETWORK puts one of weft\'s first');
    lines.push('  Podman, nerdctl and cnitool name the network: podman run --network weft-bridge');
  }
  return lines.map((line) => `${line}\n`).join('');
}
