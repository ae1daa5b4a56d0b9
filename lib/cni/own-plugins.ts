// weft's own plugins, recognised in CNI_PATH so a weft plugin can run a delegate in-process instead of
// starting a second Node process (which costs about as much as the reference's whole ADD).
//
// The rule: the spec's lookup decides (the first CNI_PATH directory holding the type); only when the file
// found is weft's bundle of that plugin does it run in-process, through the same code, store and lock as the
// executable. Any other file — the reference host-local, a wrapper script — is executed as the spec says.
// build.mjs writes the marker on line 2 of every Node bundle, `// weft-plugin <name>`, and as the last line
// of every native launcher (lib/resident/native/launcher.c), which is what CNI_PATH finds once installed.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { findInPath } from './invoke.ts';
import type { PluginDefinition } from './skel.ts';
import type { NetConf } from './types.ts';

// The shebang line and the marker line fit well within this.
const MARKER_READ_BYTES = 64;

export function ownPluginMarker(name: string): string {
  return `// weft-plugin ${name}`;
}

/** True when the file at `path` is weft's plugin `name`: a bundle (marker on line 2) or a launcher (last line). */
export function isOwnPluginBundle(path: string, name: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const marker = ownPluginMarker(name);
    const head = Buffer.alloc(MARKER_READ_BYTES);
    const length = readSync(fd, head, 0, head.length, 0);
    if (head.subarray(0, length).toString('latin1').split('\n')[1] === marker) return true;
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(MARKER_READ_BYTES, size));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return tail.toString('latin1').endsWith(`\n${marker}\n`);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * The in-process table for a delegate of type `type` (invoke.ts `inProcess`): `{ [type]: definition }` when
 * `builtIn` has that type and the executable CNI_PATH finds first for it is weft's bundle of it; undefined
 * otherwise (the delegate is then executed, or its lookup fails with the spec's error).
 */
export function ownInProcess(
  type: string,
  cniPath: readonly string[],
  builtIn: Readonly<Record<string, PluginDefinition<NetConf>>>,
): Record<string, PluginDefinition<NetConf>> | undefined {
  if (!Object.hasOwn(builtIn, type)) return undefined;
  let found: string;
  try {
    found = findInPath(type, cniPath);
  } catch {
    return undefined;
  }
  return isOwnPluginBundle(found, type) ? { [type]: builtIn[type]! } : undefined;
}
