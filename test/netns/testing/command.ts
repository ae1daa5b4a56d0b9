// Running programs from tests: witnesses such as `ip`, and the executables under test with the clean
// environment a container runtime gives them.
import { spawn, spawnSync } from 'node:child_process';
import { dirname } from 'node:path';

export interface CommandResult {
  readonly command: string;
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** The whole environment of the child; the test process's own when absent. */
  readonly env?: Record<string, string>;
  readonly input?: string;
  readonly timeoutMs?: number;
}

export function run(file: string, args: readonly string[], options: RunOptions = {}): CommandResult {
  const child = spawnSync(file, args, {
    env: options.env ?? process.env,
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 30_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.error) throw new Error(`${file}: ${child.error.message}`, { cause: child.error });
  return {
    command: [file, ...args].join(' '),
    status: child.status,
    signal: child.signal,
    stdout: child.stdout,
    stderr: child.stderr,
  };
}

/** Like `run`, but a non-zero exit throws with the command line and its stderr. */
export function runChecked(file: string, args: readonly string[], options: RunOptions = {}): string {
  const result = run(file, args, options);
  if (result.status !== 0) throw new Error(describeFailure(result));
  return result.stdout;
}

export function describeFailure(result: CommandResult): string {
  const how = result.signal ? `signal ${result.signal}` : `exit ${result.status}`;
  return `${result.command}: ${how}\nstdout: ${result.stdout.trim()}\nstderr: ${result.stderr.trim()}`;
}

/**
 * The environment a runtime such as containerd gives a plugin: PATH and nothing else (the caller adds
 * CNI_* variables). Node's own directory comes first so `#!/usr/bin/env node` finds this Node.
 */
export function cleanEnv(vars: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, ...vars };
}

/** Parses a program's stdout as JSON, naming the program, its stdout and stderr when that fails. */
export function parseJsonOutput<T = unknown>(result: CommandResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (err) {
    throw new Error(`stdout is not JSON: ${describeFailure(result)}`, { cause: err });
  }
}

/** Like `run`, without blocking: for calls that must be in flight together. */
export function runAsync(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ command: [file, ...args].join(' '), status, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
