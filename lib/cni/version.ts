// CNI spec versions: which ones weft speaks, how they compare, which verbs each one has, and the VERSION
// reply. Rules from SPEC.md and the reference pkg/version: a config without cniVersion is 0.1.0; a plugin
// answers only in a version it supports (code 1 otherwise); CHECK exists from 0.4.0, GC and STATUS from 1.1.0.

import { CniError, ErrorCode } from './errors.ts';
import { ConfigValue } from '../json/config-value.ts';
import { parseJsonObject } from './json.ts';
import type { VersionInfo } from './types.ts';

export const CURRENT_VERSION = '1.1.0';

/** Every version weft reads and writes, oldest first. */
export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type KnownVersion = (typeof ALL_VERSIONS)[number];

/** The spec's rule for a config or result that names no version. */
export const DEFAULT_VERSION = '0.1.0';

export type Verb = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** The first spec version that has each verb (ADD, DEL and VERSION exist in every version). */
export const VERB_SINCE: Readonly<Record<Verb, string>> = {
  ADD: '0.1.0',
  DEL: '0.1.0',
  VERSION: '0.1.0',
  CHECK: '0.4.0',
  GC: '1.1.0',
  STATUS: '1.1.0',
};

export function isKnownVersion(version: string): version is KnownVersion {
  return (ALL_VERSIONS as readonly string[]).includes(version);
}

/**
 * "major[.minor[.micro]]" as numbers; '' is 0.1.0 (the spec's default). Undefined when malformed,
 * like the reference's ParseVersion error.
 */
export function parseVersion(version: string): [number, number, number] | undefined {
  if (version === '') return [0, 1, 0];
  const parts = version.split('.');
  if (parts.length > 3 || !parts.every((part) => /^[0-9]+$/.test(part))) return undefined;
  const [major = 0, minor = 0, micro = 0] = parts.map(Number);
  return [major, minor, micro];
}

/** Negative, zero or positive as a is older than, equal to or newer than b; undefined if either is malformed. */
export function compareVersions(a: string, b: string): number | undefined {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return undefined;
  return pa[0] - pb[0] || pa[1] - pb[1] || pa[2] - pb[2];
}

/** True when `version` is `min` or newer; false when either is malformed. */
export function versionAtLeast(version: string, min: string): boolean {
  const order = compareVersions(version, min);
  return order !== undefined && order >= 0;
}

/** Known versions from `min` on, for plugins that start later than 0.1.0. */
export function versionsFrom(min: KnownVersion): KnownVersion[] {
  return ALL_VERSIONS.slice(ALL_VERSIONS.indexOf(min));
}

/** Go's %q of a string list, which the reference's messages use: ["0.1.0" "0.2.0"]. */
export function quoteList(items: readonly string[]): string {
  return `[${items.map((item) => JSON.stringify(item)).join(' ')}]`;
}

/** Throws code 1 unless a plugin supporting `supported` may run `verb` for a config of `configVersion`. */
export function checkVersion(verb: Verb, configVersion: string, supported: readonly string[]): void {
  const since = VERB_SINCE[verb];
  if (since !== DEFAULT_VERSION) {
    if (!versionAtLeast(configVersion, since)) {
      throw new CniError(
        ErrorCode.IncompatibleVersion,
        `config version does not allow ${verb}`,
        `${verb} needs cniVersion ${since} or later, config is ${JSON.stringify(configVersion)}`,
      );
    }
    if (!supported.some((version) => versionAtLeast(version, since))) {
      throw new CniError(ErrorCode.IncompatibleVersion, `plugin version does not allow ${verb}`);
    }
  }
  if (!supported.includes(configVersion)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      'incompatible CNI versions',
      `config is ${JSON.stringify(configVersion)}, plugin supports ${quoteList(supported)}`,
    );
  }
}

/**
 * The VERSION reply. The spec echoes the cniVersion given on input; with none (the reference sends no
 * stdin at all) the reply carries the version this library implements.
 */
export function versionReply(requested: string | undefined, supported: readonly string[]): VersionInfo {
  const cniVersion = requested !== undefined && parseVersion(requested) ? requested : CURRENT_VERSION;
  return { cniVersion, supportedVersions: [...supported] };
}

/**
 * Reads a plugin's VERSION reply (reference PluginDecoder): cniVersion is required; a 0.2.0 plugin that
 * lists nothing supports 0.1.0 and 0.2.0. Throws code 6 on anything else.
 */
export function decodeVersionInfo(text: string): VersionInfo {
  const error = { code: ErrorCode.DecodingFailure, msg: 'decoding version info' };
  const reply = new ConfigValue(parseJsonObject(text, error.code, error.msg), '', error);
  const cniVersion = reply.field('cniVersion').nonEmptyString();
  const supportedVersions = reply.field('supportedVersions').optionalStringList() ?? [];
  if (supportedVersions.length > 0) return { cniVersion, supportedVersions };
  if (cniVersion === '0.2.0') return { cniVersion, supportedVersions: ['0.1.0', '0.2.0'] };
  throw new CniError(error.code, error.msg, 'missing field supportedVersions');
}
