// Finds a network's configuration in a directory the way libcni's LoadNetworkConf does, so weft and
// cnitool pick the same one: `.conflist` files first (sorted by name; plugins from a sibling folder
// `<dir>/<network>/*.conf` appended unless loadOnlyInlinedPlugins), then `.conf`/`.json` files (sorted),
// a single plugin configuration upconverted to a one-plugin list. The first with the network's name wins;
// as in libcni, a file that does not parse is an error even when it is not the one asked for.
import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { decodeConfigObject, netConfListFromConf, parseNetConfList, validatePluginType } from '../lib/cni/config.ts';
import { ConfigValue } from '../lib/json/config-value.ts';
import { CniError, ErrorCode, toCniError } from '../lib/cni/errors.ts';
import type { NetConfList, PluginConfObject } from '../lib/cni/types.ts';
import { readBoundedFile, UnreadableFileError } from '../lib/files/bounded-read.ts';

export interface LoadedNetwork {
  readonly list: NetConfList;
  /** The list's JSON as libcni caches it: the file's bytes, or the upconverted list for a single config. */
  readonly bytes: Buffer;
  /** The file it came from. */
  readonly file: string;
}

/** Regular files (and links to them) in `dir` with one of `extensions`, sorted; none if `dir` is missing. */
function configFiles(dir: string, extensions: readonly string[]): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CniError(ErrorCode.IoFailure, `reading ${dir}`, (err as Error).message, { cause: err });
  }
  return entries
    .filter((entry) => !entry.isDirectory() && extensions.includes(extname(entry.name)))
    .map((entry) => entry.name)
    .sort()
    .map((name) => join(dir, name));
}

function readConfigFile(file: string): string {
  try {
    return readBoundedFile(file);
  } catch (err) {
    if (err instanceof UnreadableFileError) throw new CniError(ErrorCode.InvalidNetworkConfig, `error reading ${file}`, err.message, { cause: err });
    throw new CniError(ErrorCode.IoFailure, `error reading ${file}`, (err as Error).message, { cause: err });
  }
}

/** Runs `parse`; its errors keep their code and name the file. */
function parsing<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const cniError = toCniError(err, ErrorCode.InvalidNetworkConfig);
    throw new CniError(cniError.code, `${file}: ${cniError.msg}`, cniError.details, { cause: err });
  }
}

/** Plugin configurations from `<dir>/<network>/*.conf`, each needing a valid `type`. */
function siblingPlugins(dir: string, network: string): PluginConfObject[] {
  return configFiles(join(dir, network), ['.conf']).map((file) =>
    parsing(file, () => {
      const raw = decodeConfigObject(readConfigFile(file), 'plugin config');
      validatePluginType(new ConfigValue(raw).field('type'));
      return raw as PluginConfObject;
    }),
  );
}

function loadConfList(dir: string, file: string): LoadedNetwork {
  const text = readConfigFile(file);
  const list = parsing(file, () => parseNetConfList(text));
  if (!list.loadOnlyInlinedPlugins) list.plugins.push(...siblingPlugins(dir, list.name));
  if (list.plugins.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `${file}: no plugin configs found`);
  return { list, bytes: Buffer.from(text), file };
}

/** The configuration list named `network` in `dir`. */
export function loadNetwork(dir: string, network: string): LoadedNetwork {
  const listFiles = configFiles(dir, ['.conflist']);
  for (const file of listFiles) {
    const loaded = loadConfList(dir, file);
    if (loaded.list.name === network) return loaded;
  }
  const confFiles = configFiles(dir, ['.conf', '.json']);
  if (listFiles.length === 0 && confFiles.length === 0) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configurations found in ${dir}`);
  }
  for (const file of confFiles) {
    const text = readConfigFile(file);
    const raw = parsing(file, () => decodeConfigObject(text));
    const list = parsing(file, () => netConfListFromConf(raw));
    if (list.name !== network) continue;
    // libcni re-serialises the upconverted list; that is what it caches.
    const bytes = Buffer.from(JSON.stringify({ name: list.name, cniVersion: list.cniVersion, plugins: [raw] }));
    return { list, bytes, file };
  }
  throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configuration with name "${network}" in ${dir}`);
}
