// What ADD did for one attachment, kept in `<dataDir>/<containerId>@<ifName>.json` (a container ID never
// holds '@', so the name splits back), as flannel keeps its delegate config: the bridge config ADD
// generated, so that DEL and CHECK use the lease the container was attached with even after the node's
// lease changed, and the endpoint it registered, so weftd can register it again after a restart
// (daemon/api/saved-endpoints.ts).
//
// A container ID has no length limit, a file name has (255 bytes, and writeFileAtomic's temporary name is
// longer still): a name that would not fit becomes `<the ID's first 64 characters>~<SHA-256 of the ID>@
// <ifName>.json`, the same for ADD and DEL. '~' never occurs in a container ID, so no other attachment's
// name looks like it. The file records its attachment, so GC finds it under either name.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.ts';
import { sha256Hex } from '../sha256.ts';
import type { JsonObject } from '../json/json-value.ts';
import { removeLeftoverTemps, writeFileAtomic } from '../files/atomic-write.ts';
import { readBoundedFile } from '../files/bounded-read.ts';

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
// NAME_MAX (255) less what writeFileAtomic adds for its temporary name: `.<name>.tmp.<pid>.<8 hex digits>`.
const maxNameBytes = 255 - 32;
const keptIdLength = 64;
const digestMark = '~';

function savedFileName({ containerId, ifName }: AttachmentName): string {
  const plain = `${containerId}@${ifName}${suffix}`;
  if (Buffer.byteLength(plain) <= maxNameBytes) return plain;
  const digest = sha256Hex(containerId);
  return `${containerId.slice(0, keptIdLength)}${digestMark}${digest}@${ifName}${suffix}`;
}

export function savedPath(dataDir: string, name: AttachmentName): string {
  return join(dataDir, savedFileName(name));
}

export function writeSaved(dataDir: string, name: AttachmentName, saved: SavedAttachment): Promise<void> {
  const record = { containerId: name.containerId, ifName: name.ifName, ...saved };
  return writeFileAtomic(savedPath(dataDir, name), `${JSON.stringify(record)}\n`, 0o600);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A saved file's content: what was saved, and the attachment it is for when the file records it. */
export interface SavedRecord extends SavedAttachment {
  readonly name?: AttachmentName;
}

/** Parses a saved file's text; throws TypeError when it is not one. */
export function parseSaved(text: string): SavedRecord {
  const json: unknown = JSON.parse(text);
  if (!isObject(json) || !isObject(json.bridge)) throw new TypeError('not a saved overlay attachment');
  const { containerId, ifName } = json;
  return {
    bridge: json.bridge,
    ...(isObject(json.endpoint) ? { endpoint: json.endpoint } : {}),
    ...(typeof containerId === 'string' && typeof ifName === 'string' ? { name: { containerId, ifName } } : {}),
  };
}

async function readRecord(path: string): Promise<SavedRecord | undefined> {
  let text: string;
  try {
    text = readBoundedFile(path);
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

/** The saved attachment, or undefined when ADD saved none (never ran, or DEL already removed it). */
export function readSaved(dataDir: string, name: AttachmentName): Promise<SavedRecord | undefined> {
  return readRecord(savedPath(dataDir, name));
}

/** Removes the saved attachment, and what an ADD killed while saving it left. */
export async function removeSaved(dataDir: string, name: AttachmentName): Promise<void> {
  const path = savedPath(dataDir, name);
  await rm(path, { force: true });
  await removeLeftoverTemps(path);
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

/** The attachment a plain file name stands for (files written before the record named its attachment). */
export function attachmentOfFile(file: string): AttachmentName | undefined {
  const stem = file.slice(0, -suffix.length);
  const at = stem.indexOf('@');
  if (at <= 0 || at === stem.length - 1) return undefined;
  const containerId = stem.slice(0, at);
  return containerId.includes(digestMark) ? undefined : { containerId, ifName: stem.slice(at + 1) };
}

/** One saved file with its attachment; undefined when it is gone or names no attachment. */
export async function readSavedFile(dataDir: string, file: string): Promise<{ name: AttachmentName; saved: SavedAttachment } | undefined> {
  const record = await readRecord(join(dataDir, file));
  const name = record?.name ?? attachmentOfFile(file);
  return record && name ? { name, saved: record } : undefined;
}
