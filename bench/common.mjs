// What the benchmark scripts share: the repository's paths, running commands in a clean environment, and
// bundling a benchmark's TypeScript with esbuild. It sits at bench/ top level, which bench/run.mjs does not
// run (it runs the scripts in the topic folders).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The environment a container runtime gives a plugin: PATH and the variables given (the CNI_ ones), nothing
 * else. NODE_EXTRA_CA_CERTS, set where these benchmarks were written, alone adds ~90 ms to every Node start.
 */
export function cleanEnv(vars = {}) {
  return { PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, ...vars };
}

/**
 * Runs a command in the clean environment with `vars` and `input` on its stdin, timed from spawn to exit
 * (process start included): { ms, status, stdout, stderr }.
 */
export function runClean(file, args, { vars, input } = {}) {
  const start = process.hrtime.bigint();
  const child = spawnSync(file, args, { env: cleanEnv(vars), input, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, status: child.status, stdout: child.stdout, stderr: child.stderr };
}

/** `runClean` without blocking this process: resolves when the command has exited. */
export function runCleanAsync(file, args, { vars, input } = {}) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, args, { env: cleanEnv(vars) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Runs a command in the clean environment; its stdout, or an error with its stderr. */
export function sh(file, args, input) {
  const child = runClean(file, args, { input });
  if (child.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${child.stderr || child.stdout}`);
  return child.stdout;
}

/** `sh`, timed from spawn to exit (process start included), in ms. */
export function timedSh(file, args) {
  const start = process.hrtime.bigint();
  sh(file, args);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function requireRoot(topic) {
  if (process.getuid?.() !== 0) throw new Error(`bench/${topic} needs root (it creates network namespaces)`);
}

/** A namespace name no one else uses: `prefix` (say `wtb` and the topic) and a random tail, 10 chars in all. */
export function namespaceName(prefix) {
  return `${prefix}${[...randomBytes(10 - prefix.length)].map((b) => (b % 32).toString(32)).join('')}`;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Bundles a benchmark's entry points for Node 20 into `outdir` (`.mjs` or `.cjs` by `format`). An ESM bundle
 * loads its dependencies from node_modules, as source runs do (etcd3 and the xDS code read .proto files from
 * their package directories); `embedAddon` builds in the netlink addon as the executables' bundles do.
 */
export async function bundle({ entryPoints, outdir, format = 'esm', embedAddon = false, define = {}, ...options }) {
  const addon = embedAddon ? { __WEFT_ADDON_BASE64__: JSON.stringify(readFileSync(join(repoRoot, 'build/weft_netlink.node')).toString('base64')) } : {};
  await build({
    entryPoints,
    outdir,
    outExtension: { '.js': format === 'esm' ? '.mjs' : '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    ...(format === 'esm' ? { packages: 'external' } : {}),
    logLevel: 'warning',
    define: { ...addon, ...define },
    ...options,
  });
}
