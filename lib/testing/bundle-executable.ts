// Bundles one of weft's executables the way build.mjs does (one CommonJS file), so a test can run its command
// line in a process of its own: exit codes and what reaches stdout and stderr are the point.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Bundles `entry` (relative to the repository) to `outfile`. */
export async function bundleExecutable(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node\nconst __import_meta_url=require("url").pathToFileURL(__filename).href;' },
    define: { 'import.meta.url': '__import_meta_url' },
    logLevel: 'error',
  });
  chmodSync(outfile, 0o755);
  return outfile;
}
