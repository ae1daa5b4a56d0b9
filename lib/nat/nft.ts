// Running the `nft` command for weftd's overlay rules (overlay.ts): `nft -j -f FILE` applies JSON commands as
// one kernel transaction (all or nothing), and `nft -j list …` reads. Those rules go into chains other
// software owns (found by listing, matched by comment), where nft's JSON is the stable interface, as
// knftables makes it for the reference plugins. Per-container chains, which weft alone names and which a
// plugin changes on every ADD and DEL, go over nfnetlink instead (attachment-chain.ts): no process start.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, fstatSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
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

// Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY; __O_TMPFILE is 0o20000000 on x86-64 and arm64).
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;
let namedFiles = 0;

/**
 * A private file in `dir` that has no name (it goes away with its last descriptor), open for reading and
 * writing: made with O_TMPFILE, or on a file system without it (`anonymous` false in tests) under a fresh
 * name that is removed at once. O_TMPFILE costs a tenth of a directory made and removed for the purpose.
 */
export function unnamedFile(dir: string, anonymous = true): number {
  if (anonymous) {
    try {
      return openSync(dir, constants.O_RDWR | O_TMPFILE, 0o600);
    } catch (err) {
      if (!['EOPNOTSUPP', 'EISDIR', 'EINVAL'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  }
  for (;;) {
    const path = join(dir, `.weft-nft-${process.pid}-${namedFiles++}`);
    try {
      // O_EXCL: never someone else's file, nor a link planted under that name.
      const fd = openSync(path, 'wx+', 0o600);
      unlinkSync(path);
      return fd;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** What nft wrote to a scratch file (read by position: nft moved the shared offset). */
function scratchText(fd: number): string {
  const bytes = Buffer.alloc(fstatSync(fd).size);
  let done = 0;
  while (done < bytes.length) {
    const n = readSync(fd, bytes, done, bytes.length - done, done);
    if (n === 0) break;
    done += n;
  }
  return bytes.subarray(0, done).toString('utf8');
}

/**
 * Runs nft. Its output goes to scratch files, not pipes: nft's listing of a big ruleset is read whole after it
 * exits, with no stream objects on the way.
 */
function runNft(args: readonly string[], what: string, options: NftOptions, wantStdout = false): Promise<Output> {
  const [file, ...prefix] = options.command ?? defaultCommand();
  if (!file) throw new TypeError('NftOptions.command is empty');
  const timeoutMs = options.timeoutMs ?? 30_000;
  // stderr, and stdout when wanted.
  const files: number[] = [];
  const closeAll = (): void => {
    for (const fd of files) closeSync(fd);
  };
  try {
    for (let i = wantStdout ? 2 : 1; i > 0; i--) files.push(unnamedFile(tmpdir()));
  } catch (err) {
    closeAll();
    throw new CniError(ErrorCode.FirewallFailure, `${what}: cannot make a scratch file`, (err as Error).message, { cause: err });
  }
  const [stderr, stdout] = files as [number, number | undefined];
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file, [...prefix, ...args], { stdio: ['ignore', stdout ?? 'ignore', stderr] });
    } catch (err) {
      closeAll();
      throw err;
    }
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
      closeAll();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(new CniError(ErrorCode.FirewallFailure, `${what}: nft did not finish within ${timeoutMs} ms`)));
    }, timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const msg = err.code === 'ENOENT' ? `${file} not found` : `cannot run ${file}`;
      settle(() => reject(new CniError(ErrorCode.FirewallFailure, `${what}: ${msg}`, err.message, { cause: err })));
    });
    child.on('exit', (code, signal) => {
      settle(() => {
        const out = { stdout: stdout === undefined ? '' : scratchText(stdout), stderr: scratchText(stderr) };
        if (code === 0) return resolve(out);
        const how = signal ? `killed by ${signal}` : `exit ${code}`;
        reject(new CniError(ErrorCode.FirewallFailure, `${what} failed (${how})`, out.stderr.trim() || undefined));
      });
    });
  });
}

/**
 * Applies JSON commands (`{"add": {"rule": …}}`, …) as one transaction: every command takes effect, or none
 * does. JSON names chains and tables verbatim, so it is the form for touching objects weft did not name:
 * the text parser rejects a chain called `ip` or `log`, and quoting does not help.
 */
export async function nftApplyJson(commands: readonly object[], options: NftOptions = {}): Promise<void> {
  // nft reads a JSON script by opening the file's name, and /dev/stdin cannot be opened when it is the
  // socket Node gives a child; a private temporary file also has no argv size limit.
  const dir = mkdtempSync(join(tmpdir(), 'weft-nft-'));
  try {
    const file = join(dir, 'script.json');
    writeFileSync(file, JSON.stringify({ nftables: commands }), { mode: 0o600 });
    await runNft(['-j', '-f', file], 'nftables transaction', options);
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
  const { stdout } = await runNft(['-j', 'list', ...what], 'nftables listing', options, true);
  return parseNftListing(stdout);
}
