// `weft install`: copies the suite's plugin bundles into a CNI bin directory and the example network
// configurations into a config directory. Plugins are replaced (an upgrade); an existing configuration is
// kept unless forced, since an administrator may have edited it. Each file is written under a temporary
// name and renamed into place, so a runtime never executes or reads half a file.
//
// A plugin's first line names its interpreter. The bundles say `#!/usr/bin/env node`; installed, they name
// the Node that ran the install, as pip and gem do for the scripts they install: a runtime starts plugins
// with its own PATH, which need not lead to Node (nvm, /usr/local), and the detour through env costs about a
// millisecond of every plugin run. Moving or removing that Node means installing again.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import { EXAMPLE_CONFIG_EXTENSION, SUITE_PLUGINS } from './suite.ts';

export interface InstallOptions {
  /** Where the plugin bundles are (dist/bin, beside the weft executable). */
  readonly sourceBinDir: string;
  /** Where the example configurations are (conf/net.d in the source tree); may not exist. */
  readonly sourceConfDir: string;
  readonly binDir: string;
  readonly confDir: string;
  /** Replace configurations that already exist. */
  readonly force: boolean;
  /** The Node executable installed plugins name on their first line (the CLI passes its own). */
  readonly interpreter?: string;
}

export interface InstallReport {
  /** Paths written. */
  readonly installed: string[];
  /** Existing configurations left as they were. */
  readonly kept: string[];
  /** Suite plugins not found in the source directory. */
  readonly missing: string[];
}

const envShebang = '#!/usr/bin/env node\n';

/** Copies `source` to `target` whole; with `interpreter`, a first line `#!/usr/bin/env node` names it instead. */
function copyInto(source: string, target: string, mode: number, interpreter?: string): void {
  const temporary = `${target}.weft-install-${process.pid}`;
  try {
    const text = interpreter === undefined ? undefined : readFileSync(source, 'latin1');
    if (text?.startsWith(envShebang)) writeFileSync(temporary, `#!${interpreter}\n${text.slice(envShebang.length)}`, 'latin1');
    else copyFileSync(source, temporary);
    chmodSync(temporary, mode);
    renameSync(temporary, target);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw new CniError(ErrorCode.IoFailure, `installing ${target}`, (err as Error).message, { cause: err });
  }
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

function exampleConfigs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && extname(entry.name) === EXAMPLE_CONFIG_EXTENSION)
    .map((entry) => entry.name)
    .sort();
}

export function installSuite(options: InstallOptions): InstallReport {
  const report: InstallReport = { installed: [], kept: [], missing: [] };
  const plugins = SUITE_PLUGINS.filter((name) => existsSync(join(options.sourceBinDir, name)));
  report.missing.push(...SUITE_PLUGINS.filter((name) => !plugins.includes(name)));
  if (plugins.length === 0) {
    throw new CniError(ErrorCode.IoFailure, `no weft plugins in ${options.sourceBinDir}`, 'build them first: node build.mjs');
  }
  makeDir(options.binDir);
  for (const name of plugins) {
    const target = join(options.binDir, name);
    copyInto(join(options.sourceBinDir, name), target, 0o755, options.interpreter);
    report.installed.push(target);
  }
  const configs = exampleConfigs(options.sourceConfDir);
  if (configs.length > 0) makeDir(options.confDir);
  for (const name of configs) {
    const target = join(options.confDir, name);
    if (existsSync(target) && !options.force) {
      report.kept.push(target);
      continue;
    }
    copyInto(join(options.sourceConfDir, name), target, 0o644);
    report.installed.push(target);
  }
  return report;
}
