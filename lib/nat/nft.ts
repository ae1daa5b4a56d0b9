// Running the `nft` command: `nft -f -` applies a script as one kernel transaction (all or nothing), and
// `nft -j list …` reads. No npm package speaks nftables; like the reference plugins' knftables, the command
// line is the stable interface (its JSON output and its script language), so weft drives it.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.ts';

export interface NftOptions {
  /**
   * The argv that runs nft, before nft's own arguments. Default: `nft` found on PATH or in the sbin
   * directories. Tests pass e.g. `['ip', 'netns', 'exec', NS, 'nft']` to work inside a namespace.
   */
  readonly command?: readonly string[];
  /** Kill nft and fail after this long (default 30 s); a stuck firewall must not hang a plugin forever. */
  readonly timeoutMs?: number;
}

export interface NftChain {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly handle: number;
  /** Base chains only. */
  readonly type?: string;
  readonly hook?: string;
  readonly prio?: number;
  readonly policy?: string;
}

export interface NftRule {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly handle: number;
  readonly comment?: string;
}

export interface NftListing {
  readonly chains: NftChain[];
  readonly rules: NftRule[];
}

// CNI runtimes often start plugins with a PATH lacking the sbin directories, where nft lives.
const fallbackDirs = ['/usr/sbin', '/sbin', '/usr/local/sbin'];
let resolvedNft: string | undefined;

function defaultCommand(): readonly string[] {
  if (resolvedNft) return [resolvedNft];
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...fallbackDirs];
  for (const dir of dirs) {
    const candidate = join(dir, 'nft');
    try {
      accessSync(candidate, constants.X_OK);
      resolvedNft = candidate;
      return [candidate];
    } catch {
      // not here; try the next directory
    }
  }
  throw new CniError(
    ErrorCode.FirewallFailure,
    'nft not found',
    `the nftables command-line tool is required (looked in ${[...new Set(dirs)].join(', ')}); install the nftables package`,
  );
}

interface Output {
  readonly stdout: string;
  readonly stderr: string;
}

function runNft(args: readonly string[], input: string, what: string, options: NftOptions): Promise<Output> {
  const [file, ...prefix] = options.command ?? defaultCommand();
  if (!file) throw new TypeError('NftOptions.command is empty');
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...prefix, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const fail = (err: CniError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new CniError(ErrorCode.FirewallFailure, `${what}: nft did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      const msg = err.code === 'ENOENT' ? `${file} not found` : `cannot run ${file}`;
      fail(new CniError(ErrorCode.FirewallFailure, `${what}: ${msg}`, err.message, { cause: err }));
    });
    // nft may exit before reading a script it rejects; its stderr says why, the EPIPE adds nothing.
    child.stdin.on('error', () => {});
    child.on('close', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const out = { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
      if (code === 0) return resolve(out);
      const how = signal ? `killed by ${signal}` : `exit ${code}`;
      reject(new CniError(ErrorCode.FirewallFailure, `${what} failed (${how})`, out.stderr.trim() || undefined));
    });
    child.stdin.end(input);
  });
}

/** Applies an nft script as one transaction: every command takes effect, or none does. */
export async function nftApply(script: string, options: NftOptions = {}): Promise<void> {
  await runNft(['-f', '-'], script, 'nftables transaction', options);
}

/**
 * Applies JSON commands (`{"add": {"rule": …}}`, …) as one transaction. JSON names chains and tables
 * verbatim, so it is the form for touching objects weft did not name: the text parser rejects a chain
 * called `ip` or `log`, and quoting does not help.
 */
export async function nftApplyJson(commands: readonly object[], options: NftOptions = {}): Promise<void> {
  // nft reads a JSON script by opening the file's name, and /dev/stdin cannot be opened when it is the
  // socket Node gives a child; a private temporary file also has no argv size limit.
  const dir = mkdtempSync(join(tmpdir(), 'weft-nft-'));
  try {
    const file = join(dir, 'script.json');
    writeFileSync(file, JSON.stringify({ nftables: commands }), { mode: 0o600 });
    await runNft(['-j', '-f', file], '', 'nftables transaction', options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Parses `nft -j list …` output into the chains and rules it holds (other objects are not needed yet). */
export function parseNftListing(json: string): NftListing {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new CniError(ErrorCode.FirewallFailure, 'nft printed invalid JSON', (err as Error).message, { cause: err });
  }
  const items = (doc as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(items)) throw new CniError(ErrorCode.FirewallFailure, 'nft printed JSON without "nftables"');
  const listing: NftListing = { chains: [], rules: [] };
  for (const item of items as Record<string, unknown>[]) {
    if (item.chain) listing.chains.push(item.chain as NftChain);
    else if (item.rule) listing.rules.push(item.rule as NftRule);
  }
  return listing;
}

/** `nft -j list <what…>`, e.g. `['chains', 'inet']` or `['chain', 'ip', 'filter', 'FORWARD']`. */
export async function nftList(what: readonly string[], options: NftOptions = {}): Promise<NftListing> {
  const { stdout } = await runNft(['-j', 'list', ...what], '', 'nftables listing', options);
  return parseNftListing(stdout);
}
