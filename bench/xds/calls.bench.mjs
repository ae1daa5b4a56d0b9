#!/usr/bin/env node
// From an endpoint change to where a real gRPC client's calls go (see calls.ts for what is measured).
// Bundles calls.ts with esbuild into build/bench-xds/, beside the client process it forks.
//
//   node bench/xds/calls.bench.mjs [--rounds 30]
import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '../../build/bench-xds');
await bundle({ entryPoints: { calls: join(here, 'calls.ts') }, outdir: out });
// The bundled XdsClientProcess forks this script from beside itself.
copyFileSync(join(here, '../../daemon/xds/testing/xds-client-process.mjs'), join(out, 'xds-client-process.mjs'));
const run = spawnSync(process.execPath, [join(out, 'calls.mjs'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
