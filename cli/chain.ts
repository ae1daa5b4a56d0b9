// Runs a network configuration list against one attachment as a runtime does (SPEC.md section 3, libcni's
// *NetworkList functions): ADD through the plugins in order, each given the previous plugin's result; DEL in
// reverse and CHECK in order, each given the cached ADD result; GC removes stale cached attachments with DEL
// and then asks every plugin to GC; STATUS asks every plugin. The ADD result is cached (result-cache.ts) so
// that DEL, CHECK and GC find it.
import { CniError, ErrorCode, toCniError } from '../lib/cni/errors.ts';
import { ConfigValue } from '../lib/json/config-value.ts';
import { execPluginWithResult, execPluginWithoutResult, findInPath, type Environment } from '../lib/cni/invoke.ts';
import { convertVersionedResult, parseVersionedResult } from '../lib/cni/result.ts';
import { VERB_SINCE, versionAtLeast, type Verb } from '../lib/cni/version.ts';
import type { GcAttachment, PluginConfObject, VersionedResult } from '../lib/cni/types.ts';
import type { JsonObject } from '../lib/json/json-value.ts';
import type { LoadedNetwork } from './netconf-loader.ts';
import type { AttachmentKey, ResultCache } from './result-cache.ts';
import type { RuntimeConf } from './runtime-conf.ts';

export interface ChainOptions {
  /** CNI_PATH directories, searched for each plugin's type. */
  readonly cniPath: readonly string[];
  readonly cache: ResultCache;
  /** The environment plugins inherit (the CLI's own); the CNI_ variables are set per call. */
  readonly env: Environment;
  /** Receives plugins' stderr; the CLI's stderr when left out. */
  readonly log?: (line: string) => void;
}

type Step = 'add' | 'check' | 'delete' | 'gc' | 'status';

/** The plugin's environment for one verb; GC and STATUS name no attachment, so those variables are empty. */
function pluginEnv(options: ChainOptions, command: Verb, rt?: RuntimeConf): Environment {
  return {
    ...options.env,
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt?.containerId ?? '',
    CNI_NETNS: rt?.netns ?? '',
    CNI_ARGS: rt ? rt.cniArgs.map(([key, value]) => `${key}=${value}`).join(';') : '',
    CNI_IFNAME: rt?.ifName ?? '',
    CNI_PATH: options.cniPath.join(':'),
  };
}

function describePlugin(plugin: PluginConfObject): string {
  return typeof plugin.name === 'string' && plugin.name !== '' ? `type="${plugin.type}" name="${plugin.name}"` : `type="${plugin.type}"`;
}

/** Finds the plugin and runs `call`; any failure keeps its code and says which plugin failed doing what. */
async function runStep<T>(options: ChainOptions, plugin: PluginConfObject, step: Step, call: (path: string) => Promise<T>): Promise<T> {
  try {
    return await call(findInPath(plugin.type, options.cniPath));
  } catch (err) {
    const cause = toCniError(err);
    throw new CniError(cause.code, `plugin ${describePlugin(plugin)} failed (${step}): ${cause.msg}`, cause.details, { cause: err });
  }
}

/**
 * The capability arguments a plugin declared it takes, as its `runtimeConfig` (only capabilities set to
 * true in its `capabilities` and supplied by the runtime).
 */
function runtimeConfigFor(plugin: PluginConfObject, capabilityArgs: JsonObject): JsonObject {
  const declared = new ConfigValue(plugin).field('capabilities').optionalBooleanMap() ?? {};
  const runtimeConfig: JsonObject = {};
  for (const [capability, enabled] of Object.entries(declared)) {
    if (enabled && Object.hasOwn(capabilityArgs, capability)) runtimeConfig[capability] = capabilityArgs[capability]!;
  }
  return runtimeConfig;
}

/**
 * A plugin's request configuration for ADD, CHECK or DEL: the list's name and version, the previous result,
 * the runtimeConfig its capabilities earn; `capabilities` itself removed, as the spec requires.
 */
function attachmentConfig(network: LoadedNetwork, plugin: PluginConfObject, rt: RuntimeConf, prevResult?: VersionedResult): JsonObject {
  const { capabilities: _declared, ...fields } = plugin;
  const config: JsonObject = { ...fields, name: network.list.name, cniVersion: network.list.cniVersion };
  if (prevResult) config.prevResult = prevResult as unknown as JsonObject;
  const runtimeConfig = runtimeConfigFor(plugin, rt.capabilityArgs);
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  return config;
}

function attachmentKey(network: LoadedNetwork, rt: RuntimeConf): AttachmentKey {
  return { network: network.list.name, containerId: rt.containerId, ifName: rt.ifName };
}

/** The cached ADD result in the list's version, so each plugin reads prevResult in its config's version. */
function cachedResult(network: LoadedNetwork, rt: RuntimeConf, options: ChainOptions): VersionedResult | undefined {
  const version = network.list.cniVersion;
  try {
    const cached = options.cache.loadResult(attachmentKey(network, rt));
    if (!cached) return undefined;
    return convertVersionedResult(parseVersionedResult(JSON.stringify(cached), version, 'cached result'), version);
  } catch (err) {
    const cause = toCniError(err);
    throw new CniError(cause.code, `failed to get network "${network.list.name}" cached result: ${cause.msg}`, cause.details, { cause: err });
  }
}

/** ADD: the plugins in order, each given the previous result; the final result is cached and returned. */
export async function addNetworkList(network: LoadedNetwork, rt: RuntimeConf, options: ChainOptions): Promise<VersionedResult> {
  const { list } = network;
  let result: VersionedResult | undefined;
  for (const plugin of list.plugins) {
    const config = JSON.stringify(attachmentConfig(network, plugin, rt, result));
    result = await runStep(options, plugin, 'add', async (path) =>
      convertVersionedResult(await execPluginWithResult(path, config, { env: pluginEnv(options, 'ADD', rt), log: options.log }), list.cniVersion),
    );
  }
  options.cache.save({
    ...attachmentKey(network, rt),
    config: network.bytes,
    netns: rt.netns,
    cniArgs: rt.cniArgs,
    capabilityArgs: rt.capabilityArgs,
    result: result as unknown as JsonObject,
  });
  return result!;
}

/** CHECK: the plugins in order, each given the cached ADD result. A list with disableCheck succeeds at once. */
export async function checkNetworkList(network: LoadedNetwork, rt: RuntimeConf, options: ChainOptions): Promise<void> {
  const { list } = network;
  if (!versionAtLeast(list.cniVersion, VERB_SINCE.CHECK)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `configuration version "${list.cniVersion}" does not support the CHECK command`);
  }
  if (list.disableCheck) return;
  const prevResult = cachedResult(network, rt, options);
  for (const plugin of list.plugins) {
    const config = JSON.stringify(attachmentConfig(network, plugin, rt, prevResult));
    await runStep(options, plugin, 'check', (path) => execPluginWithoutResult(path, config, { env: pluginEnv(options, 'CHECK', rt), log: options.log }));
  }
}

/**
 * DEL: the plugins in reverse order, each given the cached ADD result (from 0.4.0; an unreadable cache entry
 * is dropped and DEL goes on without it, as libcni does). The entry is removed once every plugin succeeded.
 */
export async function delNetworkList(network: LoadedNetwork, rt: RuntimeConf, options: ChainOptions): Promise<void> {
  const { list } = network;
  const key = attachmentKey(network, rt);
  let prevResult: VersionedResult | undefined;
  if (versionAtLeast(list.cniVersion, '0.4.0')) {
    try {
      prevResult = cachedResult(network, rt, options);
    } catch {
      options.cache.remove(key);
    }
  }
  for (const plugin of [...list.plugins].reverse()) {
    const config = JSON.stringify(attachmentConfig(network, plugin, rt, prevResult));
    await runStep(options, plugin, 'delete', (path) => execPluginWithoutResult(path, config, { env: pluginEnv(options, 'DEL', rt), log: options.log }));
  }
  options.cache.remove(key);
}

/** One error for several: the first one's code, every message. */
function combineErrors(errors: readonly CniError[]): CniError | undefined {
  if (errors.length <= 1) return errors[0];
  return new CniError(errors[0]!.code, errors.map((err) => err.message).join('; '));
}

/**
 * GC: DEL for every cached attachment of this network that is not in `validAttachments`, then (from 1.1.0)
 * GC on every plugin with `cni.dev/valid-attachments`. Failures do not stop it; they are reported together.
 * A list with disableGC does nothing.
 */
export async function gcNetworkList(network: LoadedNetwork, validAttachments: readonly GcAttachment[], options: ChainOptions): Promise<void> {
  const { list } = network;
  if (list.disableGC) return;
  const errors: CniError[] = [];
  const isValid = (containerId: string, ifName: string) =>
    validAttachments.some((valid) => valid.containerID === containerId && valid.ifname === ifName);
  for (const cached of options.cache.list()) {
    if (cached.network !== list.name || isValid(cached.containerId, cached.ifName)) continue;
    const rt: RuntimeConf = {
      containerId: cached.containerId,
      netns: cached.netns ?? '',
      ifName: cached.ifName,
      cniArgs: cached.cniArgs ?? [],
      capabilityArgs: cached.capabilityArgs ?? {},
    };
    try {
      await delNetworkList(network, rt, options);
    } catch (err) {
      const cause = toCniError(err);
      errors.push(new CniError(cause.code, `failed to delete stale attachment ${rt.containerId} ${rt.ifName}: ${cause.msg}`, cause.details));
    }
  }
  if (versionAtLeast(list.cniVersion, VERB_SINCE.GC)) {
    const attachments = validAttachments.map((valid) => ({ containerID: valid.containerID, ifname: valid.ifname }));
    for (const plugin of list.plugins) {
      // libcni also sends the key's first, mistaken name (containernetworking/cni#1101) for older plugins.
      const config = JSON.stringify({ ...plugin, name: list.name, cniVersion: list.cniVersion, 'cni.dev/valid-attachments': attachments, 'cni.dev/attachments': attachments });
      try {
        await runStep(options, plugin, 'gc', (path) => execPluginWithoutResult(path, config, { env: pluginEnv(options, 'GC'), log: options.log }));
      } catch (err) {
        errors.push(toCniError(err));
      }
    }
  }
  const failure = combineErrors(errors);
  if (failure) throw failure;
}

/**
 * STATUS on every plugin in order; the first failure is the answer (its code tells a runtime whether the
 * network can take ADDs). Returns false without asking when the list's version has no STATUS (before 1.1.0).
 */
export async function statusNetworkList(network: LoadedNetwork, options: ChainOptions): Promise<boolean> {
  const { list } = network;
  if (!versionAtLeast(list.cniVersion, VERB_SINCE.STATUS)) return false;
  for (const plugin of list.plugins) {
    const config = JSON.stringify({ ...plugin, name: list.name, cniVersion: list.cniVersion });
    await runStep(options, plugin, 'status', (path) => execPluginWithoutResult(path, config, { env: pluginEnv(options, 'STATUS'), log: options.log }));
  }
  return true;
}
