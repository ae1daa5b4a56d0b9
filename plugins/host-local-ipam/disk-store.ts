// The reference plugin's on-disk store, so stores it wrote keep working and the two can share one:
//   <dataDir>/<network>/<ip>                   mode 0600, "<containerID>\r\n<ifname>" (older: "<containerID>")
//   <dataDir>/<network>/last_reserved_ip.<N>   the address last reserved in range set N
//   <dataDir>/<network>/lock                   flock'ed around every change
//   <dataDir>/<network>/.reserving             weft's: an allocation being written (see `reserve`)
// Anything else in the folder (other files, folders, links) is left alone and never read as an allocation.
// All calls are synchronous: a plugin process does one thing at a time, and the lock is held meanwhile.
import {
  accessSync, closeSync, constants, linkSync, mkdirSync, openSync, readdirSync, readSync, statfsSync, statSync,
  unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { readBoundedFd, readBoundedFile } from '../../lib/files/bounded-read.ts';
import { formatIp, tryParseIp, type IpAddress } from '../../lib/ip/address.ts';
import { flockFile, type FileLock } from '../../lib/files/file-lock.ts';
import {
  namesHeldBy, namesToRelease, ownerText, parseOwnerText, type Owner, type Store, type StoredAllocation,
} from './store.ts';

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';
const LOCK_FILE = 'lock';
const LAST_RESERVED_PREFIX = 'last_reserved_ip.';
// One name is enough: only the lock's holder writes it, and a file left by a killed holder is stale.
const PENDING_FILE = '.reserving';
// Allocation files are a container ID and an interface name; longer files are read whole, to a bound.
const READ_CHUNK = 4096;
// The longest IPv6 text (an IPv4-mapped address), with room to spare.
const MAX_ADDRESS_TEXT = 64;

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function ioFailure(what: string, err: unknown): CniError {
  return new CniError(ErrorCode.IoFailure, what, (err as Error).message, { cause: err });
}

// Allocation files are named by their address. This cheap test keeps "lock", "last_reserved_ip.N" and most
// foreign files out of a scan; a name that passes is parsed only when its text matters.
const ADDRESS_NAME = /^[0-9a-fA-F:.]+$/;

// A folder name's limit (NAME_MAX).
const MAX_NAME_BYTES = 255;

/** The folder of one network's store; refuses names that would leave dataDir or cannot name a folder. */
export function storeDir(dataDir: string, network: string): string {
  if (network === '' || network === '.' || network === '..' || /[/\0]/.test(network)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid network name for the store', JSON.stringify(network));
  }
  if (Buffer.byteLength(network) > MAX_NAME_BYTES) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'network name too long for the store', `${Buffer.byteLength(network)} bytes; the store's folder is named by it, at most ${MAX_NAME_BYTES}`);
  }
  return join(dataDir, network);
}

/** Why the store of `network` cannot take a new allocation file now, if it cannot (STATUS). */
export function storeWriteProblem(dataDir: string, network: string): string | undefined {
  // The nearest folder that exists: ADD creates the rest.
  let dir = storeDir(dataDir, network);
  let isDirectory = true;
  while (dirname(dir) !== dir) {
    try {
      isDirectory = statSync(dir).isDirectory();
      break;
    } catch {
      dir = dirname(dir);
    }
  }
  if (!isDirectory) return `${dir} is not a directory`;
  try {
    accessSync(dir, constants.W_OK);
    const space = statfsSync(dir);
    // root may use the blocks kept back for it; plugins run as root.
    const blocks = process.getuid?.() === 0 ? space.bfree : space.bavail;
    if (blocks === 0) return `no space left on the filesystem of ${dir}`;
    // Filesystems without an inode limit (btrfs) report 0 files and 0 free.
    if (space.files > 0 && space.ffree === 0) return `no free inodes on the filesystem of ${dir}`;
  } catch (err) {
    return `cannot write to ${dir}: ${(err as Error).message}`;
  }
  return undefined;
}

export class DiskStore implements Store {
  private readonly buffer = Buffer.allocUnsafe(READ_CHUNK);
  /** The owner text this process wrote to the pending file while holding the lock, so taken addresses cost one link. */
  private pendingText: string | undefined;

  private constructor(
    readonly dir: string,
    private readonly fileLock: FileLock,
  ) {}

  /**
   * Opens the store of `network`. With `create` its folder is made when missing (ADD); without, a
   * missing folder means an empty store and undefined is returned, so DEL, CHECK and GC change nothing.
   */
  static open(dataDir: string, network: string, options: { create: boolean }): DiskStore | undefined {
    const dir = storeDir(dataDir, network);
    try {
      if (options.create) mkdirSync(dir, { recursive: true, mode: 0o755 });
      else if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
    } catch (err) {
      if (!options.create && errnoOf(err) === 'ENOENT') return undefined;
      throw ioFailure(`failed to open the store ${dir}`, err);
    }
    return new DiskStore(dir, flockFile(`${dir}/${LOCK_FILE}`));
  }

  lock(): void {
    this.fileLock.lock();
  }

  unlock(): void {
    this.dropPending();
    this.fileLock.unlock();
  }

  close(): void {
    this.dropPending();
    this.fileLock.close();
  }

  /**
   * The owner is written to the pending file first, which link(2) then gives the address's name, failing
   * when the name exists: the name never exists without its owner. (The reference creates the file and
   * writes the owner after, so a kill in between leaves a file no DEL matches; weft runs host-local inside
   * the bridge, where a kill of either hits it.) A kill leaves at most the pending file: see `reclaimLeftovers`.
   */
  reserve(owner: Owner, ip: IpAddress, rangeId: number): boolean {
    const path = `${this.dir}/${formatIp(ip)}`;
    const fail = (err: unknown) => {
      this.dropPending();
      return ioFailure(`failed to reserve ${formatIp(ip)}`, err);
    };
    try {
      this.writePending(ownerText(owner));
    } catch (err) {
      throw fail(err);
    }
    try {
      linkSync(`${this.dir}/${PENDING_FILE}`, path);
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      throw fail(err);
    }
    this.dropPending();
    try {
      writeFileSync(`${this.dir}/${LAST_RESERVED_PREFIX}${rangeId}`, formatIp(ip), { mode: 0o600 });
    } catch (err) {
      this.unlinkQuietly(path);
      throw ioFailure(`failed to reserve ${formatIp(ip)}`, err);
    }
    return true;
  }

  private writePending(text: string): void {
    if (this.pendingText === text) return;
    const pending = `${this.dir}/${PENDING_FILE}`;
    // Never truncate in place: a killed process's pending file may be linked to an allocation already.
    this.unlinkQuietly(pending);
    this.pendingText = undefined;
    const fd = openSync(pending, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const bytes = Buffer.from(text);
      // A short write to a regular file means the disk is full.
      if (writeSync(fd, bytes) !== bytes.length) throw new Error('short write: no space left on device');
    } finally {
      closeSync(fd);
    }
    this.pendingText = text;
  }

  private dropPending(): void {
    if (this.pendingText === undefined) return;
    this.pendingText = undefined;
    this.unlinkQuietly(`${this.dir}/${PENDING_FILE}`);
  }

  reclaimLeftovers(): void {
    this.unlinkQuietly(`${this.dir}/${PENDING_FILE}`);
  }

  lastReservedIp(rangeId: number): IpAddress | undefined {
    try {
      // Exact text, as the reference writes and reads it; anything else only costs round robin a turn.
      return tryParseIp(readBoundedFile(`${this.dir}/${LAST_RESERVED_PREFIX}${rangeId}`, { maxBytes: MAX_ADDRESS_TEXT, noFollow: true }));
    } catch {
      return undefined;
    }
  }

  getById(owner: Owner): IpAddress[] {
    const held = namesHeldBy(this.entries(), owner);
    return namesToIps([...held.current, ...held.old]);
  }

  releaseById(owner: Owner): IpAddress[] {
    // Only files named by an address are allocations, whatever a foreign file holds.
    const names = namesToRelease(namesHeldBy(this.entries(), owner)).filter((name) => tryParseIp(name));
    const failures: string[] = [];
    for (const name of names) {
      try {
        unlinkSync(`${this.dir}/${name}`);
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') failures.push(`${name}: ${(err as Error).message}`);
      }
    }
    // Everything releasable was released; what could not be stays on disk for the runtime's retry.
    if (failures.length > 0) {
      throw new CniError(ErrorCode.IoFailure, `failed to release addresses of ${owner.containerId}`, failures.join('; '));
    }
    return namesToIps(names);
  }

  release(ip: IpAddress): void {
    try {
      unlinkSync(`${this.dir}/${formatIp(ip)}`);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw ioFailure(`failed to release ${formatIp(ip)}`, err);
    }
  }

  allocations(): StoredAllocation[] {
    const found: StoredAllocation[] = [];
    for (const [name, text] of this.entries()) {
      const ip = tryParseIp(name);
      if (ip) found.push({ ip, ...parseOwnerText(text) });
    }
    return found;
  }

  reservedIps(): IpAddress[] {
    return namesToIps(this.candidateNames());
  }

  private candidateNames(): string[] {
    let entries;
    try {
      entries = readdirSync(this.dir, { withFileTypes: true });
    } catch (err) {
      throw ioFailure(`failed to list the store ${this.dir}`, err);
    }
    // Only regular files: a link could point anywhere, a folder is not ours.
    return entries.filter((entry) => entry.isFile() && ADDRESS_NAME.test(entry.name)).map((entry) => entry.name);
  }

  /** (name, text) of every file that may be an allocation; files that vanish or cannot be read are skipped. */
  private *entries(): Generator<[string, string]> {
    for (const name of this.candidateNames()) {
      const text = this.readSmall(`${this.dir}/${name}`);
      if (text !== undefined) yield [name, text];
    }
  }

  // open + one read + close: the store is scanned on every ADD and DEL, 60,000 files in a big one.
  private readSmall(path: string): string | undefined {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      const n = readSync(fd, this.buffer, 0, READ_CHUNK, 0);
      return n < READ_CHUNK ? this.buffer.toString('utf8', 0, n) : readBoundedFd(fd, path).toString('utf8');
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  private unlinkQuietly(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // Already gone, or the disk refuses: the caller reports the first failure.
    }
  }
}

function namesToIps(names: readonly string[]): IpAddress[] {
  return names.map(tryParseIp).filter((ip): ip is IpAddress => ip !== undefined);
}
