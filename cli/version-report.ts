// `weft version`: weft's own version, the CNI spec versions it speaks, and each suite plugin found beside
// the weft executable or in CNI_PATH with the versions its VERSION reply lists.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toCniError } from '../lib/cni/errors.ts';
import { getVersionInfo, type Environment } from '../lib/cni/invoke.ts';
import { ALL_VERSIONS } from '../lib/cni/version.ts';
import { SUITE_PLUGINS } from './suite.ts';

export interface PluginFound {
  readonly name: string;
  readonly path: string;
  /** From the plugin's VERSION reply; absent when it gave none. */
  readonly supportedVersions?: string[];
  readonly error?: string;
}

export interface VersionReport {
  readonly weft: string;
  readonly cniVersions: readonly string[];
  readonly plugins: PluginFound[];
  /** Suite plugins found in none of the directories. */
  readonly notFound: string[];
}

/** Asks each suite plugin in `dirs` (in order, duplicates dropped) for its versions. */
export async function versionReport(weftVersion: string, dirs: readonly string[], env: Environment): Promise<VersionReport> {
  const plugins: PluginFound[] = [];
  const searched = [...new Set(dirs)];
  for (const name of SUITE_PLUGINS) {
    for (const dir of searched) {
      const path = join(dir, name);
      if (!existsSync(path)) continue;
      try {
        const info = await getVersionInfo(path, env, () => {});
        plugins.push({ name, path, supportedVersions: info.supportedVersions });
      } catch (err) {
        plugins.push({ name, path, error: toCniError(err).message });
      }
    }
  }
  const notFound = SUITE_PLUGINS.filter((name) => !plugins.some((plugin) => plugin.name === name));
  return { weft: weftVersion, cniVersions: ALL_VERSIONS, plugins, notFound };
}

export function formatVersionReport(report: VersionReport): string {
  const lines = [`weft ${report.weft}`, `CNI spec versions: ${report.cniVersions.join(' ')}`, 'plugins:'];
  for (const plugin of report.plugins) {
    const versions = plugin.error ? `error: ${plugin.error}` : `CNI ${plugin.supportedVersions!.join(' ')}`;
    lines.push(`  ${plugin.name.padEnd(10)} ${plugin.path} (${versions})`);
  }
  for (const name of report.notFound) lines.push(`  ${name.padEnd(10)} not found`);
  return `${lines.join('\n')}\n`;
}
