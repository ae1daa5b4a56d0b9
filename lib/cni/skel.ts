// The plugin skeleton: everything between a runtime and a plugin's verbs (SPEC.md section 2, the
// reference pkg/skel). A plugin never reads CNI_COMMAND, the environment or stdin itself.
//
// How a plugin uses it (plugins/<name>/main.ts):
//
//   import { definePlugin, runPlugin } from '../../lib/cni/skel.ts';
//
//   export const plugin = definePlugin({
//     about: 'weft host-local IPAM v0.1.0',
//     // optional: its own fields on top of the validated protocol fields (code-7 errors via ConfigValue)
//     parseConfig: (base, raw) => ({ ...base, subnet: raw.field('ipam').field('subnet').cidr() }),
//     verbs: {
//       async add({ conf, args }) { ...; return { cniVersion: conf.cniVersion, ips: [...] }; },
//       async del({ conf, args }) { ... },
//       async check({ conf, args }) { ... },      // conf.prevResult holds the ADD result
//       async gc({ conf }) { ... },               // conf.validAttachments; optional verb
//       async status({ conf }) { ... },           // optional verb; absent means "available"
//     },
//   });
//   await runPlugin(plugin);   // only in main.ts: reads process.env/stdin, writes stdout, exits
//
// The skeleton checks the environment each verb needs (all missing variables named in one code-4 error),
// the container ID and interface name, decodes and validates stdin (codes 6 and 7), checks the config's
// cniVersion against the plugin's versions and the verb (code 1), then calls the verb. ADD's result, in the
// current shape, is printed converted to the config's cniVersion. Anything thrown is printed as the spec's
// error JSON on stdout with exit code 1: a CniError keeps its code, any other error becomes code 199.
// With no CNI_COMMAND it prints the about text and the versions it speaks on stderr and exits 0.
//
// The core, `runPluginCore`, is a pure function over an injected environment and stdin, so tests need no
// processes and a plugin can run another weft plugin in-process through exactly the code path of its
// executable (see invoke.ts). Keep this module's imports light: it is on every plugin's start-up path.

import { fstatSync, readFileSync, statSync, writeSync } from 'node:fs';
import { CniError, ErrorCode, toCniError } from './errors.ts';
import type { CniErrorJson } from './errors.ts';
import { interfaceNameProblem } from '../netlink/interface-name.ts';
import { ConfigValue } from '../json/config-value.ts';
import { parseJson } from './json.ts';
import { configVersionOf, decodeConfigObject, netConfFromObject, validateNetworkName } from './config.ts';
import { convertResult, resultToJson } from './result.ts';
import { ALL_VERSIONS, CURRENT_VERSION, checkVersion, versionReply, type Verb } from './version.ts';
import type { NetConf, Result } from './types.ts';

/** The environment variables of one invocation, validated. */
export interface CmdArgs {
  command: Exclude<Verb, 'VERSION'>;
  /** '' for GC and STATUS. */
  containerId: string;
  /** '' when not given (DEL may omit it; GC and STATUS have none). */
  netns: string;
  /** '' for GC and STATUS. */
  ifName: string;
  /** CNI_ARGS as given; parse it with `parseCniArgs` (args.ts) and the plugin's own keys. */
  args: string;
  /** CNI_PATH split on ':', empty entries dropped. */
  path: string[];
  /** stdin exactly as received: a delegate (IPAM) gets these bytes. */
  stdinData: string;
  /** The environment this invocation ran with: a delegate inherits it (invoke.ts). */
  env: Readonly<Record<string, string | undefined>>;
}

export interface VerbContext<C extends NetConf> {
  conf: C;
  args: CmdArgs;
  /** A line for stderr (logs; a runtime shows them only on failure). */
  log(line: string): void;
}

type Outcome<T> = T | Promise<T>;

export interface PluginVerbs<C extends NetConf> {
  /** Returns the result in the current shape; the skeleton converts it to the config's version. */
  add(ctx: VerbContext<C>): Outcome<Result>;
  del(ctx: VerbContext<C>): Outcome<void>;
  check(ctx: VerbContext<C>): Outcome<void>;
  /** Absent: GC succeeds doing nothing (reference behaviour). */
  gc?(ctx: VerbContext<C>): Outcome<void>;
  /** Absent: the plugin reports itself available. */
  status?(ctx: VerbContext<C>): Outcome<void>;
}

export interface PluginDefinition<C extends NetConf = NetConf> {
  /** One line, e.g. "weft bridge v0.1.0", printed when the plugin runs without CNI_COMMAND. */
  about: string;
  /** Versions the plugin speaks; all of ALL_VERSIONS when left out. */
  supportedVersions?: readonly string[];
  /**
   * Reads the plugin's own fields. `base` holds the validated protocol fields; `raw` is the whole config
   * object. Throw CniError (ConfigValue does) for bad input. Left out, the config is just `NetConf`.
   */
  parseConfig?(base: NetConf, raw: ConfigValue): C;
  verbs: PluginVerbs<C>;
}

/** Identity, for type inference of C from parseConfig. */
export function definePlugin<C extends NetConf = NetConf>(definition: PluginDefinition<C>): PluginDefinition<C> {
  return definition;
}

/** What the core reads instead of the process. */
export interface PluginIo {
  env: Readonly<Record<string, string | undefined>>;
  /** stdin text, or a reader called only when the command needs stdin. */
  stdin: string | (() => string);
  /**
   * True when `path` names the network namespace the plugin itself runs in. ADD and DEL refuse such a
   * CNI_NETNS (code 8, as the reference does) unless CNI_NETNS_OVERRIDE is 1/true. Left out: no check.
   */
  isOwnNetns?(path: string): boolean;
}

export interface PluginOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Which variables each verb requires (SPEC.md section 2; CNI_PATH as the reference requires it). */
const REQUIRED_ENV: Readonly<Record<Exclude<Verb, 'VERSION'>, readonly string[]>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
};

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function isCommand(command: string): command is Exclude<Verb, 'VERSION'> {
  return Object.hasOwn(REQUIRED_ENV, command);
}

export function validateContainerId(id: string): void {
  if (id === '') throw new CniError(ErrorCode.UnknownContainer, 'missing containerID');
  if (!NAME_PATTERN.test(id)) throw new CniError(ErrorCode.InvalidEnvironment, 'invalid characters in containerID', id);
}

/** The kernel's rules for a new interface name, as code-4 errors (CNI_IFNAME is an environment variable). */
export function validateInterfaceName(name: string): void {
  const problem = interfaceNameProblem(name);
  if (problem) throw new CniError(ErrorCode.InvalidEnvironment, problem.msg, problem.details);
}

/** CNI_PATH entries (':'-separated), empty ones dropped so nothing resolves against the working directory. */
export function splitCniPath(value: string | undefined): string[] {
  return (value ?? '').split(':').filter((entry) => entry !== '');
}

function readCmdArgs(command: CmdArgs['command'], io: PluginIo): Omit<CmdArgs, 'stdinData'> {
  const get = (name: string) => io.env[name] ?? '';
  const missing = REQUIRED_ENV[command].filter((name) => get(name) === '');
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(',')}] missing`);
  }
  const args = {
    command,
    containerId: get('CNI_CONTAINERID'),
    netns: get('CNI_NETNS'),
    ifName: get('CNI_IFNAME'),
    args: get('CNI_ARGS'),
    path: splitCniPath(get('CNI_PATH')),
    env: io.env,
  };
  // Only the verbs that name an attachment validate it (GC and STATUS ignore stray values).
  if (REQUIRED_ENV[command].includes('CNI_CONTAINERID')) {
    validateContainerId(args.containerId);
    validateInterfaceName(args.ifName);
  }
  return args;
}

function readStdin(io: PluginIo): string {
  if (typeof io.stdin === 'string') return io.stdin;
  try {
    return io.stdin();
  } catch (err) {
    throw new CniError(ErrorCode.IoFailure, 'error reading from stdin', (err as Error).message, { cause: err });
  }
}

/** The cniVersion a VERSION request carries on stdin, if any; VERSION never fails on stdin. */
function requestedVersion(io: PluginIo): string | undefined {
  try {
    const value: unknown = parseJson(readStdin(io), ErrorCode.DecodingFailure, 'error unmarshall VERSION request');
    const version = (value as { cniVersion?: unknown } | null)?.cniVersion;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

function overridesNetnsCheck(env: PluginIo['env']): boolean {
  const value = env.CNI_NETNS_OVERRIDE ?? '';
  return value === '1' || value.toUpperCase() === 'TRUE';
}

async function dispatch<C extends NetConf>(
  plugin: PluginDefinition<C>,
  command: CmdArgs['command'],
  io: PluginIo,
  log: (line: string) => void,
  state: { cniVersion: string },
): Promise<string> {
  const cmdArgs = readCmdArgs(command, io);
  const stdinData = readStdin(io);
  const raw = decodeConfigObject(stdinData);
  validateNetworkName(raw.name);
  const cniVersion = configVersionOf(raw);
  state.cniVersion = cniVersion;
  checkVersion(command, cniVersion, plugin.supportedVersions ?? ALL_VERSIONS);

  const base = netConfFromObject(raw);
  const conf = plugin.parseConfig ? plugin.parseConfig(base, new ConfigValue(raw)) : (base as C);
  const args: CmdArgs = { ...cmdArgs, stdinData };
  if ((command === 'ADD' || command === 'DEL') && args.netns !== '' && io.isOwnNetns && !overridesNetnsCheck(io.env)) {
    if (io.isOwnNetns(args.netns)) {
      throw new CniError(ErrorCode.InvalidNetns, "plugin's netns and netns from CNI_NETNS should not be the same", args.netns);
    }
  }
  const ctx: VerbContext<C> = { conf, args, log };
  const { verbs } = plugin;
  switch (command) {
    case 'ADD': {
      const result = await verbs.add(ctx);
      try {
        return resultToJson(convertResult(result, cniVersion));
      } catch (err) {
        // The attachment exists but this version cannot express it: a failed ADD leaves nothing behind.
        try {
          await verbs.del(ctx);
        } catch (cleanup) {
          log(`undoing the ADD failed: ${cleanup instanceof Error ? cleanup.message : String(cleanup)}`);
        }
        throw err;
      }
    }
    case 'DEL':
      await verbs.del(ctx);
      return '';
    case 'CHECK':
      await verbs.check(ctx);
      return '';
    case 'GC':
      await verbs.gc?.(ctx);
      return '';
    case 'STATUS':
      await verbs.status?.(ctx);
      return '';
  }
}

function errorOutput(err: unknown, cniVersion: string, stderr: string): PluginOutput {
  const json: CniErrorJson = toCniError(err).toJson(cniVersion);
  return { stdout: `${JSON.stringify(json, null, 4)}\n`, stderr, exitCode: 1 };
}

/** Runs one invocation of `plugin` against `io`. Never throws: failures come back as error JSON. */
export async function runPluginCore<C extends NetConf>(plugin: PluginDefinition<C>, io: PluginIo): Promise<PluginOutput> {
  const supported = plugin.supportedVersions ?? ALL_VERSIONS;
  let stderr = '';
  const log = (line: string) => {
    stderr += `${line}\n`;
  };
  const command = io.env.CNI_COMMAND ?? '';
  if (command === '') {
    log(plugin.about);
    log(`CNI protocol versions supported: ${supported.join(', ')}`);
    return { stdout: '', stderr, exitCode: 0 };
  }
  if (command === 'VERSION') {
    return { stdout: `${JSON.stringify(versionReply(requestedVersion(io), supported))}\n`, stderr, exitCode: 0 };
  }
  // Errors carry the config's version once it is known, before that the newest one.
  const state = { cniVersion: CURRENT_VERSION };
  try {
    if (!isCommand(command)) throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND: ${command}`);
    const stdout = await dispatch(plugin, command, io, log, state);
    return { stdout, stderr, exitCode: 0 };
  } catch (err) {
    return errorOutput(err, state.cniVersion, stderr);
  }
}

/** PluginIo.isOwnNetns for a plugin running in this process's network namespace. */
export function isOwnNetns(path: string): boolean {
  try {
    const own = statSync('/proc/self/ns/net');
    const target = statSync(path);
    return own.dev === target.dev && own.ino === target.ino;
  } catch {
    // Unopenable: not ours (a DEL for a namespace already gone must go on).
    return false;
  }
}

/** Whether fd 0 is a terminal (or another character device such as /dev/null), without node:tty. */
function stdinIsDevice(): boolean {
  try {
    return fstatSync(0).isCharacterDevice();
  } catch {
    return true; // closed: nothing to read either
  }
}

/**
 * Writes all of `text` to `fd` synchronously. process.stdout would load net and stream (several ms of
 * every plugin start) for the one small write a plugin makes.
 */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (err) {
      // A pipe the runtime made non-blocking and that is full: wait a moment for the reader.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/**
 * The executable's main: runs the core against this process and exits with its code. Reads stdin only
 * when the command needs it (VERSION from a terminal must not wait for input).
 */
export async function runPlugin<C extends NetConf>(plugin: PluginDefinition<C>): Promise<never> {
  const needsStdin = process.env.CNI_COMMAND !== 'VERSION' || !stdinIsDevice();
  const output = await runPluginCore(plugin, {
    env: process.env,
    stdin: () => (needsStdin ? readFileSync(0, 'utf8') : ''),
    isOwnNetns,
  });
  writeAll(2, output.stderr);
  writeAll(1, output.stdout);
  process.exit(output.exitCode);
}
