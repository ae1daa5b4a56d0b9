// What ADD did for one attachment, kept in `<dataDir>/<containerId>@<ifName>.json` (a container ID never
// holds '@', so the name splits back), as flannel keeps its delegate config: the bridge config ADD
// generated, so that DEL and CHECK use the lease the container was attached with even after the node's
// lease changed, and the endpoint it registered, so weftd can register it again after a restart
// (daemon/api/saved-endpoints.ts).
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { JsonObject } from '../../lib/cni/types.ts';
import { writeFileAtomic } from '../../daemon/files/atomic-write.ts';

export interface SavedAttachment {
  readonly bridge: JsonObject;
  /** The endpoint as registered (its JSON form without the node); absent when none was. */
  readonly endpoint?: JsonObject;
}

export interface AttachmentName {
  readonly containerId: string;
  readonly ifName: string;
}

const suffix = '.json';

export function savedPath(dataDir: string, { containerId, ifName }: AttachmentName): string {
  return join(dataDir, `${containerId}@${ifName}${suffix}`);
}

export function writeSaved(dataDir: string, name: AttachmentName, saved: SavedAttachment): Promise<void> {
  return writeFileAtomic(savedPath(dataDir, name), `${JSON.stringify(saved)}\n`, 0o600);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a saved file's text; throws TypeError when it is not one. */
export function parseSaved(text: string): SavedAttachment {
  const json: unknown = JSON.parse(text);
  if (!isObject(json) || !isObject(json.bridge)) throw new TypeError('not a saved overlay attachment');
  return isObject(json.endpoint) ? { bridge: json.bridge, endpoint: json.endpoint } : { bridge: json.bridge };
}

/** The saved attachment, or undefined when ADD saved none (never ran, or DEL already removed it). */
export async function readSaved(dataDir: string, name: AttachmentName): Promise<SavedAttachment | undefined> {
  const path = savedPath(dataDir, name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CniError(ErrorCode.IoFailure, `failed to read ${path}`, (err as Error).message, { cause: err });
  }
  try {
    return parseSaved(text);
  } catch (err) {
    throw new CniError(ErrorCode.IoFailure, `failed to read ${path}`, (err as Error).message, { cause: err });
  }
}

export function removeSaved(dataDir: string, name: AttachmentName): Promise<void> {
  return rm(savedPath(dataDir, name), { force: true });
}

/** Every saved file's name (without the directory); none when the directory does not exist. */
export async function savedFiles(dataDir: string): Promise<string[]> {
  try {
    return (await readdir(dataDir)).filter((file) => file.endsWith(suffix));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The attachment a saved file name stands for. */
export function attachmentOfFile(file: string): AttachmentName | undefined {
  const stem = file.slice(0, -suffix.length);
  const at = stem.indexOf('@');
  if (at <= 0 || at === stem.length - 1) return undefined;
  return { containerId: stem.slice(0, at), ifName: stem.slice(at + 1) };
}
