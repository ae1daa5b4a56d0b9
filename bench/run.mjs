#!/usr/bin/env node
// Runs the benchmarks one after another (they share a 2-core machine, so never at once):
//   npm run bench                 every topic
//   npm run bench -- cni ipam     the named topics
// Each topic's drivers (<what>.bench.mjs) print their figures beside a reference run; bench/README.md
// records them. A driver's in-process half, when it has one, is TypeScript beside it that it bundles.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const topics = readdirSync(benchDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((t) => !topics.includes(t));
if (unknown.length) {
  console.error(`unknown topic(s): ${unknown.join(', ')}; topics: ${topics.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const topic of wanted.length ? wanted : topics) {
  const scripts = readdirSync(join(benchDir, topic)).filter((f) => f.endsWith('.bench.mjs')).sort();
  for (const script of scripts) {
    console.log(`\n=== bench/${topic}/${script}`);
    const run = spawnSync(process.execPath, [join(benchDir, topic, script)], { stdio: 'inherit' });
    if (run.status !== 0) failed++;
  }
}
process.exit(failed ? 1 : 0);
