// Running other plugins (SPEC.md section 4, the reference pkg/invoke): a plugin delegating to its IPAM
// plugin, and the weft CLI running a configuration list.
//
// A plugin is found by its type in CNI_PATH (first directory holding a regular file of that name), run
// with the caller's environment (CNI_COMMAND set to the verb) and the config on stdin. On exit 0 its stdout
// is the result; otherwise its stdout is the spec's error JSON, which comes back as a CniError with the
// plugin's own code. Its stderr goes to the caller's stderr.
//
// In-process delegates: `options.inProcess` maps a type to a weft plugin definition that is then run by
// skel.ts's runPluginCore instead of a child process, through exactly the code path of its executable
// (same environment, same stdin, same output parsing); CNI_PATH is not searched for it.
//
// Spawning is asynchronous. That is safe here: namespace switches live inside native calls, so no plugin
// is ever spawned while the calling thread sits in a container's namespace. node:child_process is loaded
// on the first spawn only: with it come net and stream, several ms of a plugin's start that a bridge
// running host-local in-process never needs.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from './errors.ts';
import { decodeConfigObject, configVersionOf } from './config.ts';
import { parseVersionedResult, toCurrent } from './result.ts';
import { CURRENT_VERSION, decodeVersionInfo, type Verb } from './version.ts';
import { runPluginCore, splitCniPath, type PluginDefinition } from './skel.ts';
import type { NetConf, Result, VersionedResult, VersionInfo } from './types.ts';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ExecOptions {
  /** The plugin's whole environment (CNI_COMMAND and the other CNI_ variables included). */
  env: Environment;
  /** Receives the plugin's stderr, line by line; process.stderr when left out. */
  log?: (line: string) => void;
}

export interface DelegateOptions {
  /** The caller's environment, inherited by the delegate (a plugin passes `ctx.args.env`). */
  env: Environment;
  log?: (line: string) => void;
  /** Types run in-process instead of as executables. */
  inProcess?: Readonly<Record<string, PluginDefinition<NetConf>>>;
}

interface RawOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The first `<dir>/<plugin>` that is a regular file, in CNI_PATH order. */
export function findInPath(plugin: string, paths: readonly string[]): string {
  if (plugin === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'no plugin name provided');
  if (plugin.includes('/')) throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid plugin name: ${plugin}`);
  if (paths.length === 0) throw new CniError(ErrorCode.InvalidEnvironment, 'no paths provided', 'CNI_PATH is empty');
  for (const dir of paths) {
    const candidate = join(dir, plugin);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this directory; try the next.
    }
  }
  throw new CniError(
    ErrorCode.InvalidEnvironment,
    `failed to find plugin ${JSON.stringify(plugin)} in path [${paths.join(' ')}]`,
    `no file named ${JSON.stringify(plugin)} in any CNI_PATH directory`,
  );
}

/** `env` with CNI_COMMAND replaced, as a delegate receives it. */
export function delegateEnv(env: Environment, command: Verb): Environment {
  return { ...env, CNI_COMMAND: command };
}

function writeLines(text: string, log: ((line: string) => void) | undefined): void {
  if (text === '') return;
  if (!log) {
    process.stderr.write(text);
    return;
  }
  for (const line of text.replace(/\n$/, '').split('\n')) log(line);
}

const TEXT_BUSY_RETRIES = 5;
const TEXT_BUSY_WAIT_MS = 1000;

async function spawnOnce(pluginPath: string, stdin: string, env: Environment): Promise<RawOutput> {
  // Loaded here, when a delegate really runs: node:child_process costs a start that does not need it.
  const { spawn } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(pluginPath, [], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A plugin that exits without reading stdin closes the pipe; that is its business, not an error here.
    child.stdin.on('error', () => {});
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
    child.stdin.end(stdin);
  });
}

async function spawnPlugin(pluginPath: string, stdin: string, env: Environment): Promise<RawOutput> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await spawnOnce(pluginPath, stdin, env);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The binary is being written (an upgrade in progress): wait and retry, as the reference does.
      if (code === 'ETXTBSY' && attempt < TEXT_BUSY_RETRIES) {
        await new Promise((wake) => setTimeout(wake, TEXT_BUSY_WAIT_MS));
        continue;
      }
      throw new CniError(ErrorCode.DelegateFailure, `failed to execute plugin ${pluginPath}`, (err as Error).message, { cause: err });
    }
  }
}

function exitDescription(output: RawOutput): string {
  return output.signal ? `signal: ${output.signal}` : `exit status ${output.code}`;
}

/** The error a failed plugin reported: its own error JSON (code kept), or what can be said without one. */
function pluginError(output: RawOutput): CniError {
  const status = exitDescription(output);
  if (output.stdout.trim() === '') {
    return output.stderr.trim() === ''
      ? new CniError(ErrorCode.DelegateFailure, `netplugin failed with no error message: ${status}`)
      : new CniError(ErrorCode.DelegateFailure, `netplugin failed: ${JSON.stringify(output.stderr)}: ${status}`);
  }
  let reported: { code?: unknown; msg?: unknown; details?: unknown };
  try {
    reported = JSON.parse(output.stdout) as typeof reported;
    if (typeof reported !== 'object' || reported === null) throw new TypeError('not a JSON object');
  } catch (err) {
    return new CniError(
      ErrorCode.DelegateFailure,
      `netplugin failed but error parsing its diagnostic message ${JSON.stringify(output.stdout)}`,
      (err as Error).message,
    );
  }
  const code = typeof reported.code === 'number' && Number.isInteger(reported.code) && reported.code > 0 ? reported.code : ErrorCode.DelegateFailure;
  const msg = typeof reported.msg === 'string' && reported.msg !== '' ? reported.msg : `netplugin failed: ${status}`;
  return new CniError(code, msg, typeof reported.details === 'string' ? reported.details : undefined);
}

/** Runs a plugin executable; resolves to its stdout on exit 0, rejects with its CniError otherwise. */
export async function execPlugin(pluginPath: string, stdin: string, options: ExecOptions): Promise<string> {
  const output = await spawnPlugin(pluginPath, stdin, options.env);
  writeLines(output.stderr, options.log);
  if (output.code !== 0) throw pluginError(output);
  return output.stdout;
}

/**
 * A plugin's ADD output as a result in its own version: its `cniVersion`, or the config's when it gives
 * none (the reference's fixup for plugins that forget it). Unreadable output is code 6.
 */
export function readPluginResult(stdout: string, netconf: string, source: string): VersionedResult {
  return parseVersionedResult(stdout, configVersionOf(decodeConfigObject(netconf)), `result of ${source}`);
}

/** Runs a plugin for ADD and reads its result in the version it wrote. */
export async function execPluginWithResult(pluginPath: string, netconf: string, options: ExecOptions): Promise<VersionedResult> {
  return readPluginResult(await execPlugin(pluginPath, netconf, options), netconf, pluginPath);
}

/** Runs a plugin for a verb without a result (DEL, CHECK, GC, STATUS). */
export async function execPluginWithoutResult(pluginPath: string, netconf: string, options: ExecOptions): Promise<void> {
  await execPlugin(pluginPath, netconf, options);
}

/**
 * Asks a plugin which versions it speaks. A plugin too old to know VERSION speaks 0.1.0 (reference rule).
 * `env` is the base environment; the CNI_ variables are set here.
 */
export async function getVersionInfo(pluginPath: string, env: Environment, log?: (line: string) => void): Promise<VersionInfo> {
  // Older skeletons require these even for VERSION.
  const versionEnv = { ...env, CNI_COMMAND: 'VERSION', CNI_CONTAINERID: '', CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy', CNI_PATH: 'dummy', CNI_ARGS: '' };
  try {
    const stdout = await execPlugin(pluginPath, JSON.stringify({ cniVersion: CURRENT_VERSION }), { env: versionEnv, log });
    return decodeVersionInfo(stdout);
  } catch (err) {
    if (err instanceof CniError && err.msg === 'unknown CNI_COMMAND: VERSION') return { cniVersion: '0.1.0', supportedVersions: ['0.1.0'] };
    throw err;
  }
}

async function runDelegate(type: string, command: Verb, netconf: string, options: DelegateOptions): Promise<string> {
  const env = delegateEnv(options.env, command);
  const builtIn = options.inProcess && Object.hasOwn(options.inProcess, type) ? options.inProcess[type] : undefined;
  if (!builtIn) return execPlugin(findInPath(type, splitCniPath(options.env.CNI_PATH)), netconf, { env, log: options.log });
  const output = await runPluginCore(builtIn, { env, stdin: netconf });
  writeLines(output.stderr, options.log);
  if (output.exitCode !== 0) throw pluginError({ code: output.exitCode, signal: null, stdout: output.stdout, stderr: output.stderr });
  return output.stdout;
}

/** Delegated ADD (IPAM): the delegate's result in the current shape. */
export async function delegateAdd(type: string, netconf: string, options: DelegateOptions): Promise<Result> {
  return toCurrent(readPluginResult(await runDelegate(type, 'ADD', netconf, options), netconf, `delegate ${type}`));
}

export async function delegateDel(type: string, netconf: string, options: DelegateOptions): Promise<void> {
  await runDelegate(type, 'DEL', netconf, options);
}

export async function delegateCheck(type: string, netconf: string, options: DelegateOptions): Promise<void> {
  await runDelegate(type, 'CHECK', netconf, options);
}

export async function delegateGc(type: string, netconf: string, options: DelegateOptions): Promise<void> {
  await runDelegate(type, 'GC', netconf, options);
}

export async function delegateStatus(type: string, netconf: string, options: DelegateOptions): Promise<void> {
  await runDelegate(type, 'STATUS', netconf, options);
}
