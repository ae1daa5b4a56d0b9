// Runs a plugin's code with a V8 code cache. A plugin is a process started once per container, and past
// Node's own start most of its time goes to compiling its code, function by function as each first runs
// (measured on the bridge: ~13 ms of an ADD, ~7 ms of a DEL). A cache keeps that compiled code as the first
// run of the same command left it, and later runs skip the compiling. (Node 22's module.enableCompileCache
// does the same; Node 20 has only vm.Script's cachedData.)
//
// V8 checks a cache against its source by length only, so the file is named by a hash of the code, taken
// at build time — and by the CNI command, since each command runs other functions. A cache V8 rejects
// (another Node build, other flags) is replaced when the process exits, as is a missing one; a usable one
// is never rewritten. Caches of an older build stay until reboot (/run is tmpfs), about 1 MiB per build:
// removing them would make two builds in use on one host (two runtimes' plugin folders) undo each other's.
// What V8 loads from here becomes code that runs as root: the directory and the files
// must be root's alone (lib/run-dir.ts), or no cache is used. WEFT_CODE_CACHE=off runs without one.
import { lstatSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { constants, Script } from 'node:vm';
import { checkPrivate, privateDirectory, writeWhole } from '../run-dir.ts';
import { VERB_SINCE } from './version.ts';

export interface CachedCode {
  /**
   * The code: a script whose value is a CommonJS module function, `function m(exports, require, module,
   * __filename, __dirname) {…}\nm`. A declaration, not a parenthesized function expression: V8 compiles the
   * latter eagerly, whole, where a declaration's body is compiled as it runs, and only what ran is cached.
   */
  readonly source: string;
  /** Hex digest of `source`, computed at build time. */
  readonly hash: string;
  /** The executable's name, e.g. `bridge`. */
  readonly name: string;
  /** Where the code came from (stack traces, `__filename`). */
  readonly filename: string;
}

export interface CacheOptions {
  /** Directory of the cache files; none when undefined. */
  readonly dir: string | undefined;
  /** CNI_COMMAND: part of the file name. */
  readonly command: string | undefined;
  /** The require the module body gets. */
  readonly require: NodeJS.Require;
}

const purpose = 'use the code cache';

/** `<name>-<hash>-<command>.v8`; anything but a CNI command counts as `other` (a bounded set of files). */
export function cacheFileName(code: Pick<CachedCode, 'name' | 'hash'>, command: string | undefined): string {
  const verb = command !== undefined && Object.hasOwn(VERB_SINCE, command) ? command : 'other';
  return `${code.name}-${code.hash}-${verb}.v8`;
}

/** Whether `dir` exists or could be made, and it and its parent (/run/weft) are root's alone. */
function usableDirectory(dir: string): boolean {
  try {
    privateDirectory(dir, purpose);
    checkPrivate(dirname(dir), lstatSync(dirname(dir)), 'directory', purpose);
    return true;
  } catch {
    return false;
  }
}

/** The cache file's bytes when it exists and is private; undefined otherwise. */
function readCache(file: string): Buffer | undefined {
  try {
    const stats = lstatSync(file, { throwIfNoEntry: false });
    if (!stats) return undefined;
    checkPrivate(file, stats, 'file', purpose);
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Compiles and runs `code` as a CommonJS module, with the cache in `options.dir` when there is a usable one,
 * and leaves a cache there at exit when there was none.
 */
export function runCached(code: CachedCode, options: CacheOptions): void {
  const { dir } = options;
  const file = dir !== undefined && usableDirectory(dir) ? join(dir, cacheFileName(code, options.command)) : undefined;
  const cachedData = file === undefined ? undefined : readCache(file);
  const script = new Script(code.source, {
    filename: code.filename,
    // import() inside the code loads as it would in a plain CommonJS file (vm.Script has no loader of its own).
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    ...(cachedData && { cachedData }),
  });
  const used = cachedData !== undefined && !script.cachedDataRejected;
  if (file !== undefined && !used) {
    // At exit: by then the functions this command runs are compiled and go into the cache too.
    process.once('exit', () => {
      try {
        writeWhole(file, script.createCachedData(), 0o600);
      } catch {
        // Without a cache the next run compiles again; nothing else depends on it.
      }
    });
  }
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, options.require, module, code.filename, dirname(code.filename));
}
