// Bundles the echo test plugin into one executable file, the way build.mjs bundles weft's plugins.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export async function buildEchoPlugin(outfile: string): Promise<string> {
  await build({
    entryPoints: [join(fileURLToPath(new URL('.', import.meta.url)), 'echo-plugin-main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'warning',
  });
  chmodSync(outfile, 0o755);
  return outfile;
}
