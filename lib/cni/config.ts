// Network configurations (SPEC.md section 1): the single plugin configuration a plugin reads on stdin, and
// configuration lists as a runtime (the weft CLI, like libcni) loads them. Malformed JSON is code 6;
// anything well-formed but wrong (missing name or type, a field of the wrong type, a bad name) is code 7.

import { CniError, ErrorCode } from './errors.ts';
import { ConfigValue } from '../json/config-value.ts';
import { parseJsonObject } from './json.ts';
import { readDns, readResult } from './result.ts';
import { CURRENT_VERSION, DEFAULT_VERSION, compareVersions, parseVersion } from './version.ts';
import type { GcAttachment, IpamConf, NetConf, NetConfList, PluginConfObject } from './types.ts';
import type { JsonObject, JsonValue } from '../json/json-value.ts';

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// A type names an executable in CNI_PATH: no path separators (spec: "e.g. / or \").
const TYPE_FORBIDDEN = /[/\\\0]/;

/** Parses stdin (or a file) as a JSON object; anything else is code 6 with the parser's words. */
export function decodeConfigObject(text: string, what = 'network config'): JsonObject {
  // The reference's wording, so logs read the same whichever plugin failed.
  return parseJsonObject(text, ErrorCode.DecodingFailure, `error unmarshall ${what}`);
}

/** The network name rules of SPEC.md section 1; returns the name. */
export function validateNetworkName(name: JsonValue | undefined): string {
  if (name === undefined || name === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  const text = new ConfigValue(name, 'name').string();
  if (!NAME_PATTERN.test(text)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid characters found in network name', text);
  }
  return text;
}

/** A plugin `type` (or `ipam.type`): a non-empty executable name without path separators. */
export function validatePluginType(value: ConfigValue): string {
  const type = value.nonEmptyString();
  if (TYPE_FORBIDDEN.test(type)) throw value.invalid(`must be an executable name without / or \\, got ${JSON.stringify(type)}`);
  return type;
}

/** The config's cniVersion; '0.1.0' when absent or empty (the spec's rule). */
export function configVersionOf(raw: JsonObject): string {
  return new ConfigValue(raw).field('cniVersion').optionalString() || DEFAULT_VERSION;
}

function readIpam(value: ConfigValue): IpamConf | undefined {
  const ipam = value.optionalObject();
  if (!ipam) return undefined;
  // An empty type means no IPAM, as in the reference plugins.
  if (value.field('type').optionalString()) validatePluginType(value.field('type'));
  return ipam as IpamConf;
}

function readAttachment(value: ConfigValue): GcAttachment {
  value.object();
  return { containerID: value.field('containerID').string(), ifname: value.field('ifname').string() };
}

/** Validates the protocol fields of a plugin configuration object. Plugin-specific fields are left alone. */
export function netConfFromObject(raw: JsonObject): NetConf {
  const root = new ConfigValue(raw);
  const cniVersion = configVersionOf(raw);
  const conf: NetConf = {
    cniVersion,
    name: validateNetworkName(raw.name),
    type: validatePluginType(root.field('type')),
  };
  const capabilities = root.field('capabilities').optionalBooleanMap();
  const ipam = readIpam(root.field('ipam'));
  const dns = readDns(root.field('dns'));
  const args = root.field('args').optionalObject();
  const runtimeConfig = root.field('runtimeConfig').optionalObject();
  const prevResult = root.field('prevResult');
  const attachments = root.field('cni.dev/valid-attachments').optionalList();
  if (capabilities) conf.capabilities = capabilities;
  if (ipam) conf.ipam = ipam;
  if (dns) conf.dns = dns;
  if (args) conf.args = args;
  if (runtimeConfig) conf.runtimeConfig = runtimeConfig;
  if (prevResult.present && prevResult.value !== null) conf.prevResult = readResult(prevResult, cniVersion);
  if (attachments) conf.validAttachments = attachments.map(readAttachment);
  return conf;
}

/** Parses and validates a plugin configuration from its JSON text. */
export function parseNetConf(text: string): NetConf {
  return netConfFromObject(decodeConfigObject(text));
}

/** libcni's boolean list fields: true/false, or the strings "true"/"false" in any case. */
function readListBoolean(value: ConfigValue): boolean {
  const raw = value.value;
  if (raw === undefined) return false;
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string' && /^(true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
  throw value.invalid(`must be true or false, got ${JSON.stringify(raw)}`);
}

/**
 * The version a list runs at: the highest of cniVersion and cniVersions that is not newer than the one weft
 * implements (libcni's selection). Versions that do not parse are code 7.
 */
function selectListVersion(root: ConfigValue): { cniVersion: string; cniVersions?: string[] } {
  const cniVersion = root.field('cniVersion').optionalString() ?? '';
  const listed = root.field('cniVersions').optionalList();
  if (!listed) return { cniVersion };
  const cniVersions = listed.map((item) => {
    const version = item.string();
    if (!parseVersion(version)) throw item.invalid(`is not a version: ${JSON.stringify(version)}`);
    return version;
  });
  if (cniVersion !== '' && !parseVersion(cniVersion)) throw root.field('cniVersion').invalid(`is not a version: ${JSON.stringify(cniVersion)}`);
  const candidates = [...cniVersions, ...(cniVersion === '' ? [] : [cniVersion])]
    .filter((version) => compareVersions(version, CURRENT_VERSION)! <= 0)
    .sort((a, b) => compareVersions(a, b)!);
  return { cniVersion: candidates.at(-1) ?? cniVersion, cniVersions };
}

function readPluginObject(value: ConfigValue): PluginConfObject {
  const object = value.object();
  validatePluginType(value.field('type'));
  return object as PluginConfObject;
}

/**
 * Parses a configuration list (`.conflist`). `plugins` may be absent only when plugins are to be loaded from
 * the sibling folder (loadOnlyInlinedPlugins false); the loader then errs if it finds none.
 */
export function parseNetConfList(text: string): NetConfList {
  const raw = decodeConfigObject(text, 'network config list');
  const root = new ConfigValue(raw);
  const name = validateNetworkName(raw.name);
  const list: NetConfList = {
    ...selectListVersion(root),
    name,
    disableCheck: readListBoolean(root.field('disableCheck')),
    disableGC: readListBoolean(root.field('disableGC')),
    loadOnlyInlinedPlugins: readListBoolean(root.field('loadOnlyInlinedPlugins')),
    plugins: [],
  };
  const plugins = root.field('plugins');
  if (!plugins.present) {
    if (list.loadOnlyInlinedPlugins) throw plugins.invalid('is required when loadOnlyInlinedPlugins is true');
    return list;
  }
  const items = plugins.list();
  if (items.length === 0) throw plugins.invalid('must list at least one plugin');
  list.plugins = items.map(readPluginObject);
  return list;
}

/** A single plugin configuration (`.conf`/`.json`) as a one-plugin list, as libcni upconverts it. */
export function netConfListFromConf(raw: JsonObject): NetConfList {
  const root = new ConfigValue(raw);
  return {
    cniVersion: root.field('cniVersion').optionalString() ?? '',
    name: validateNetworkName(raw.name),
    disableCheck: false,
    disableGC: false,
    loadOnlyInlinedPlugins: false,
    plugins: [readPluginObject(root)],
  };
}
