// The result cache a runtime keeps between ADD and DEL/CHECK/GC, in libcni's on-disk format so that weft,
// cnitool and runtimes built on libcni read each other's entries: one JSON file per attachment at
// <cacheDir>/results/<network>-<containerID>-<ifname>, `kind` "cniCacheV1", the network config list
// base64-encoded (Go's encoding of []byte) and the ADD result as JSON.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import type { JsonObject, JsonValue } from '../lib/json/json-value.ts';
import { readBoundedFile } from '../lib/files/bounded-read.ts';

/** libcni's default cache directory. */
export const DEFAULT_CACHE_DIR = '/var/lib/cni';
const CACHE_KIND = 'cniCacheV1';

/** CNI_ARGS as the key/value pairs libcni caches. */
export type CniArgPairs = Array<[string, string]>;

/** What identifies an attachment: (container ID, interface) within one network. */
export interface AttachmentKey {
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
}

export interface CachedAttachment extends AttachmentKey {
  /** The network configuration list's bytes as they were at ADD. */
  readonly config: Buffer;
  readonly netns?: string;
  readonly cniArgs?: CniArgPairs;
  readonly capabilityArgs?: JsonObject;
  /** The final ADD result, in the version it was written in. */
  readonly result?: JsonObject;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isArgPairs(value: unknown): value is CniArgPairs {
  return Array.isArray(value) && value.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((s) => typeof s === 'string'));
}

/** Reads one cniCacheV1 file's JSON; undefined for anything else (a legacy bare result, a stray file). */
function decodeEntry(value: unknown): CachedAttachment | undefined {
  if (!isObject(value) || value.kind !== CACHE_KIND) return undefined;
  const { containerId, ifName, networkName, config, netns, cniArgs, capabilityArgs, result } = value;
  if (typeof containerId !== 'string' || typeof ifName !== 'string' || typeof networkName !== 'string') return undefined;
  return {
    network: networkName,
    containerId,
    ifName,
    config: Buffer.from(typeof config === 'string' ? config : '', 'base64'),
    ...(typeof netns === 'string' && netns !== '' ? { netns } : {}),
    ...(isArgPairs(cniArgs) && cniArgs.length > 0 ? { cniArgs } : {}),
    ...(isObject(capabilityArgs) && Object.keys(capabilityArgs).length > 0 ? { capabilityArgs } : {}),
    ...(isObject(result) ? { result } : {}),
  };
}

/** The file's JSON, in libcni's field order; empty optional fields are left out as Go's omitempty does. */
function encodeEntry(entry: CachedAttachment): JsonObject {
  const json: JsonObject = {
    kind: CACHE_KIND,
    containerId: entry.containerId,
    config: entry.config.toString('base64'),
    ifName: entry.ifName,
    networkName: entry.network,
  };
  if (entry.netns) json.netns = entry.netns;
  if (entry.cniArgs && entry.cniArgs.length > 0) json.cniArgs = entry.cniArgs;
  if (entry.capabilityArgs && Object.keys(entry.capabilityArgs).length > 0) json.capabilityArgs = entry.capabilityArgs;
  if (entry.result) json.result = entry.result;
  return json;
}

export class ResultCache {
  readonly resultsDir: string;

  constructor(readonly cacheDir: string = DEFAULT_CACHE_DIR) {
    this.resultsDir = join(cacheDir, 'results');
  }

  filePath(key: AttachmentKey): string {
    if (key.network === '' || key.containerId === '' || key.ifName === '') {
      throw new CniError(
        ErrorCode.Internal,
        'cache file path requires network name, container ID and interface name',
        JSON.stringify(key),
      );
    }
    return join(this.resultsDir, `${key.network}-${key.containerId}-${key.ifName}`);
  }

  /** Writes the entry atomically (a reader never sees half a file), directory 0700, file 0600 as libcni. */
  save(entry: CachedAttachment): void {
    const file = this.filePath(entry);
    mkdirSync(this.resultsDir, { recursive: true, mode: 0o700 });
    const temporary = join(this.resultsDir, `.${entry.network}-${entry.containerId}-${entry.ifName}.${process.pid}.tmp`);
    try {
      writeFileSync(temporary, JSON.stringify(encodeEntry(entry)), { mode: 0o600 });
      renameSync(temporary, file);
    } catch (err) {
      rmSync(temporary, { force: true });
      throw new CniError(ErrorCode.IoFailure, `failed to set network "${entry.network}" cached result`, (err as Error).message, { cause: err });
    }
  }

  /**
   * The cached ADD result for an attachment: from a cniCacheV1 entry, or a legacy file holding the bare
   * result (older libcni). Undefined when there is no file; code 5 when it cannot be read as either.
   */
  loadResult(key: AttachmentKey): JsonObject | undefined {
    const text = this.read(key);
    if (text === undefined) return undefined;
    let value: JsonValue;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch (err) {
      throw new CniError(ErrorCode.IoFailure, `failed to get network "${key.network}" cached result`, (err as Error).message);
    }
    if (isObject(value) && value.kind === CACHE_KIND) return decodeEntry(value)?.result;
    if (isObject(value)) return value;
    throw new CniError(ErrorCode.IoFailure, `failed to get network "${key.network}" cached result`, 'not a JSON object');
  }

  /** Removes the attachment's file; no file is not an error (DEL may be repeated). */
  remove(key: AttachmentKey): void {
    rmSync(this.filePath(key), { force: true });
  }

  /** Every readable cniCacheV1 entry, sorted by file name as libcni lists them; other files are skipped. */
  list(): CachedAttachment[] {
    let names: string[];
    try {
      names = readdirSync(this.resultsDir).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CniError(ErrorCode.IoFailure, `reading ${this.resultsDir}`, (err as Error).message, { cause: err });
    }
    const entries: CachedAttachment[] = [];
    for (const name of names) {
      let value: unknown;
      try {
        value = JSON.parse(readBoundedFile(join(this.resultsDir, name)));
      } catch {
        continue;
      }
      const entry = decodeEntry(value);
      if (entry && entry.ifName !== '' && entry.network !== '') entries.push(entry);
    }
    return entries;
  }

  private read(key: AttachmentKey): string | undefined {
    try {
      return readBoundedFile(this.filePath(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CniError(ErrorCode.IoFailure, `failed to get network "${key.network}" cached result`, (err as Error).message, { cause: err });
    }
  }
}
