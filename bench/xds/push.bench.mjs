#!/usr/bin/env node
// xDS push latency to 100 clients and memory with 10,000 endpoints (see push.ts for what is measured).
// The benchmark is TypeScript using daemon/xds; this bundles it with esbuild into build/bench-xds/ and runs
// it with --expose-gc so memory figures follow a full collection.
//
//   node bench/xds/push.bench.mjs [--rounds 30] [--node-rounds 5] [--clients 100] [--services 100 --per-service 100 --nodes 20]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '../../build/bench-xds');
await bundle({ entryPoints: { push: join(here, 'push.ts'), clients: join(here, 'clients.ts') }, outdir: out });
const run = spawnSync(process.execPath, ['--expose-gc', join(out, 'push.mjs'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
