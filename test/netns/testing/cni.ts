// Running the built executables (plugins and the weft CLI) the way a container runtime does: a clean
// environment carrying only PATH and the CNI variables, the configuration on stdin.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cleanEnv, run, type CommandResult } from './command.ts';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Path of a bundle under dist/bin; throws with the fix when it has not been built. */
export function distBin(name: string): string {
  const path = `${repoRoot}dist/bin/${name}`;
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`node build.mjs\` first`);
  return path;
}

export interface PluginCall {
  readonly command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
  readonly containerId?: string;
  readonly netns?: string;
  readonly ifname?: string;
  /** CNI_ARGS, `K=V;K=V`. */
  readonly args?: string;
  /** CNI_PATH. */
  readonly path?: string;
  /** Written to stdin: an object is serialised, a string is sent as it is (for malformed input). */
  readonly config?: unknown;
}

export function runPlugin(executable: string, call: PluginCall): CommandResult {
  const vars: Record<string, string> = { CNI_COMMAND: call.command };
  if (call.containerId !== undefined) vars.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) vars.CNI_NETNS = call.netns;
  if (call.ifname !== undefined) vars.CNI_IFNAME = call.ifname;
  if (call.args !== undefined) vars.CNI_ARGS = call.args;
  if (call.path !== undefined) vars.CNI_PATH = call.path;
  const input = call.config === undefined ? '' : typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  return run(executable, [], { env: cleanEnv(vars), input });
}

/** Runs `dist/bin/weft ARGS...` with a clean environment plus `vars` (NETCONFPATH, CNI_PATH, ...). */
export function runCli(args: readonly string[], vars: Record<string, string> = {}): CommandResult {
  return run(distBin('weft'), args, { env: cleanEnv(vars) });
}
