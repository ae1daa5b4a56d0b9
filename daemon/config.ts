// weftd's own options: a JSON file (--config) with command-line flags laid over it, validated in one
// place so that both say the same thing about the same mistake. The network config may sit in this file
// ("network") or in the store; see network-config.ts.
//
//   {
//     "nodeName": "node-a",                          default: the host name
//     "stateDir": "/var/lib/weft",                   VTEP MAC (and the embedded store); must survive reboots
//     "subnetFile": "/run/weft/subnet.env",          read by the overlay CNI plugin
//     "store": { "type": "embedded", "path": "/var/lib/weft/leases.json" }
//           or { "type": "etcd", "endpoints": ["https://10.0.0.1:2379"], "prefix": "/weft/network",
//                "caFile": "...", "certFile": "...", "keyFile": "...", "username": "...", "passwordFile": "..." },
//     "underlay": { "interface": "eth0" } or { "interfaceRegex": "^en" } or { "reach": "10.0.0.1" }
//                 (none: the interface of the default route), plus optionally "publicIp": "203.0.113.5",
//     "listen": "127.0.0.1:9475",                    /healthz, /readyz, /metrics
//     "logLevel": "info",
//     "api": { "socket": "/run/weft/weftd.sock",        local API for the overlay plugin (daemon/api/)
//              "overlayDataDir": "/var/lib/cni/weft/overlay" },  the plugin's saved attachments, read at start
//     "xds": { "listen": "127.0.0.1:18000" },         xDS (ADS) server, or "unix:/path"; off when absent
//     "dns": { "resolvConf": "/etc/resolv.conf" },    DNS on the overlay gateways (daemon/dns/), forwarding
//            other names to this file's nameservers; on by default, { "enabled": false } turns it off
//     "intervals": { "reconcile": 5, "firewall": 60, "probe": 5 },  seconds between the data path's full
//                  runs (what repairs a changed kernel), its firewall rule checks, and peer probe rounds
//     "plugins": { "serve": true, "workers": 4 },      run the CNI plugins' calls (daemon/plugin-host/)
//     "overlay": true,                                 false: no lease, no data path — only the plugin host
//     "network": { "network": "10.244.0.0/16", ... }
//   }
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import { ConfigValue } from '../lib/json/config-value.ts';
import type { JsonObject, JsonValue } from '../lib/json/json-value.ts';
import { readBoundedFile, UnreadableFileError } from '../lib/files/bounded-read.ts';
import { tryParseIp, type IpAddress } from '../lib/ip/address.ts';
import { defaultListen } from '../lib/weftd-api/node-status.ts';
import { logLevels, type LogLevel } from './log.ts';
import { rejectUnknownFields } from './network-config.ts';
import type { UnderlayChoice } from './underlay.ts';

export type StoreOptions =
  | { readonly type: 'embedded'; readonly path: string }
  | {
    readonly type: 'etcd';
    readonly endpoints: readonly string[];
    readonly prefix: string;
    readonly caFile?: string;
    readonly certFile?: string;
    readonly keyFile?: string;
    readonly username?: string;
    readonly passwordFile?: string;
  };

export interface DaemonOptions {
  readonly nodeName: string;
  readonly stateDir: string;
  readonly subnetFile: string;
  readonly store: StoreOptions;
  readonly underlay: UnderlayChoice;
  readonly publicIp?: IpAddress;
  readonly listen: { readonly host: string; readonly port: number };
  readonly logLevel: LogLevel;
  readonly api: { readonly socket: string; readonly overlayDataDir: string };
  /** Where the xDS server listens ("host:port" or "unix:/path"); no server when absent. */
  readonly xds?: { readonly listen: string };
  /** DNS on the overlay gateway addresses; absent when turned off. */
  readonly dns?: { readonly resolvConf: string };
  /** The network config as written, when this file gives one (validated by parseNetworkConfig). */
  readonly network?: JsonObject;
  readonly intervals: DataPathIntervals;
  /** The plugin host: whether it serves the plugin launchers, and with how many worker threads. */
  readonly plugins: { readonly serve: boolean; readonly workers: number };
  /** False: weftd runs only the plugin host (a node with the bridge plugin and no overlay). */
  readonly overlay: boolean;
}

/** How often the data path checks the kernel against what it should be, in ms. */
export interface DataPathIntervals {
  readonly reconcileMs: number;
  readonly firewallMs: number;
  readonly probeMs: number;
}

export const defaultStateDir = '/var/lib/weft';
export const defaultSubnetFile = '/run/weft/subnet.env';
export const defaultEtcdPrefix = '/weft/network';
export const defaultApiSocket = '/run/weft/weftd.sock';
export const defaultOverlayDataDir = '/var/lib/cni/weft/overlay';
export const defaultResolvConf = '/etc/resolv.conf';
/** Plugin calls running at once; more wait in line (a call is a few ms of CPU, the machine has few cores). */
export const defaultPluginWorkers = 4;

const topFields = ['nodeName', 'stateDir', 'subnetFile', 'store', 'underlay', 'listen', 'logLevel', 'api', 'xds', 'dns', 'network', 'intervals', 'plugins', 'overlay'];

/** The flags of `weftd`, each overriding the file's field of the same meaning. */
export interface DaemonFlags {
  nodeName?: string;
  stateDir?: string;
  subnetFile?: string;
  store?: string;
  storePath?: string;
  etcdEndpoints?: string;
  etcdPrefix?: string;
  iface?: string;
  ifaceRegex?: string;
  ifaceReach?: string;
  publicIp?: string;
  listen?: string;
  logLevel?: string;
  apiSocket?: string;
  xdsListen?: string;
}

function daemonConfigError(err: unknown): unknown {
  return err instanceof CniError && err.msg === 'invalid network config'
    ? new CniError(err.code, 'invalid weftd config', err.details, { cause: err })
    : err;
}

/** The store type the flags pick on their own, if any. */
function flagStoreType(flags: DaemonFlags): string | undefined {
  return flags.store ?? (flags.etcdEndpoints !== undefined ? 'etcd' : flags.storePath !== undefined ? 'embedded' : undefined);
}

function objectField(json: JsonObject, key: string): JsonObject {
  const value = json[key];
  return (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as JsonObject;
}

/**
 * Store flags that contradict each other or the file's store type, described for a usage message (a flag
 * that picks another type replaces the file's store, so only the flags can be at odds); undefined when none.
 */
export function storeFlagConflict(file: JsonObject, flags: DaemonFlags): string | undefined {
  const given = (pairs: [string, string | undefined][]) => pairs.filter(([, value]) => value !== undefined).map(([name]) => name);
  const etcdFlags = given([['--etcd-endpoints', flags.etcdEndpoints], ['--etcd-prefix', flags.etcdPrefix]]);
  const embeddedFlags = given([['--store-path', flags.storePath]]);
  if (etcdFlags.length > 0 && embeddedFlags.length > 0) return `${[...embeddedFlags, ...etcdFlags].join(' and ')} are for different stores`;
  const fileType = objectField(file, 'store').type;
  const type = flagStoreType(flags) ?? fileType ?? 'embedded';
  const source = flags.store !== undefined ? `--store is ${flags.store}`
    : fileType !== undefined ? `the config file's store is ${JSON.stringify(fileType)} (--store changes it)` : 'the store is embedded unless --store etcd';
  const misplaced = type === 'etcd' ? embeddedFlags : type === 'embedded' ? etcdFlags : [];
  if (misplaced.length === 0) return undefined;
  return `${misplaced.join(' and ')} ${misplaced.length > 1 ? 'are' : 'is'} for ${type === 'etcd' ? 'an embedded' : 'an etcd'} store, but ${source}`;
}

/** Lays flags over the file's JSON (absent flags leave the file's values); storeFlagConflict comes first. */
export function mergeFlags(file: JsonObject, flags: DaemonFlags): JsonObject {
  const merged: JsonObject = { ...file };
  const set = (key: string, value: JsonValue | undefined) => {
    if (value !== undefined) merged[key] = value;
  };
  set('nodeName', flags.nodeName);
  set('stateDir', flags.stateDir);
  set('subnetFile', flags.subnetFile);
  set('listen', flags.listen);
  set('logLevel', flags.logLevel);
  if (flags.apiSocket !== undefined) merged.api = { ...objectField(file, 'api'), socket: flags.apiSocket };
  if (flags.xdsListen !== undefined) merged.xds = { ...objectField(file, 'xds'), listen: flags.xdsListen };
  const fileStore = objectField(file, 'store');
  const storeType = flagStoreType(flags);
  if (storeType !== undefined || flags.storePath !== undefined || flags.etcdEndpoints !== undefined || flags.etcdPrefix !== undefined) {
    // A flag that picks another store type replaces the file's store; otherwise flags refine it.
    const store: JsonObject = storeType !== undefined && storeType !== fileStore.type ? { type: storeType } : { ...fileStore };
    if (flags.storePath !== undefined) store.path = flags.storePath;
    if (flags.etcdEndpoints !== undefined) store.endpoints = flags.etcdEndpoints.split(',').map((e) => e.trim()).filter((e) => e !== '');
    if (flags.etcdPrefix !== undefined) store.prefix = flags.etcdPrefix;
    merged.store = store;
  }
  const choice: JsonObject | undefined = flags.iface !== undefined ? { interface: flags.iface }
    : flags.ifaceRegex !== undefined ? { interfaceRegex: flags.ifaceRegex }
      : flags.ifaceReach !== undefined ? { reach: flags.ifaceReach } : undefined;
  if (choice !== undefined || flags.publicIp !== undefined) {
    const { publicIp, ...fileChoice } = objectField(file, 'underlay');
    merged.underlay = { ...(choice ?? fileChoice), ...(flags.publicIp !== undefined ? { publicIp: flags.publicIp } : publicIp !== undefined ? { publicIp } : {}) };
  }
  return merged;
}

function absolutePath(field: ConfigValue, fallback: string): string {
  const path = field.optionalString() ?? fallback;
  if (!path.startsWith('/')) throw field.invalid(`must be an absolute path, got ${JSON.stringify(path)}`);
  return path;
}

function parseStore(field: ConfigValue, stateDir: string): StoreOptions {
  if (!field.present) return { type: 'embedded', path: join(stateDir, 'leases.json') };
  const type = field.field('type').string();
  if (type === 'embedded') {
    rejectUnknownFields(field, ['type', 'path']);
    return { type, path: absolutePath(field.field('path'), join(stateDir, 'leases.json')) };
  }
  if (type !== 'etcd') throw field.field('type').invalid(`must be "embedded" or "etcd", got ${JSON.stringify(type)}`);
  rejectUnknownFields(field, ['type', 'endpoints', 'prefix', 'caFile', 'certFile', 'keyFile', 'username', 'passwordFile']);
  const endpoints = field.field('endpoints').list().map((item) => {
    const url = item.string();
    if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) throw item.invalid(`must be a URL such as https://10.0.0.1:2379, got ${JSON.stringify(url)}`);
    return url.replace(/\/$/, '');
  });
  if (endpoints.length === 0) throw field.field('endpoints').invalid('must name at least one etcd member');
  const prefix = field.field('prefix').optionalString() ?? defaultEtcdPrefix;
  if (!/^\/[^\s]*[^/\s]$/.test(prefix)) throw field.field('prefix').invalid(`must be a key prefix such as ${defaultEtcdPrefix}, got ${JSON.stringify(prefix)}`);
  const caFile = field.field('caFile').optionalString();
  const certFile = field.field('certFile').optionalString();
  const keyFile = field.field('keyFile').optionalString();
  if ((certFile === undefined) !== (keyFile === undefined)) throw field.invalid('needs "certFile" and "keyFile" together');
  if (certFile !== undefined && caFile === undefined) throw field.invalid('needs "caFile" with a client certificate');
  if (caFile !== undefined && endpoints.some((e) => e.startsWith('http:'))) throw field.field('endpoints').invalid('must use https:// with "caFile"');
  const username = field.field('username').optionalString();
  const passwordFile = field.field('passwordFile').optionalString();
  if ((username === undefined) !== (passwordFile === undefined)) throw field.invalid('needs "username" and "passwordFile" together');
  return {
    type, endpoints, prefix,
    ...(caFile !== undefined ? { caFile } : {}),
    ...(certFile !== undefined ? { certFile, keyFile } : {}),
    ...(username !== undefined ? { username, passwordFile } : {}),
  };
}

function parseUnderlay(field: ConfigValue): { choice: UnderlayChoice; publicIp?: IpAddress } {
  if (!field.present) return { choice: { by: 'default-route' } };
  field.object();
  rejectUnknownFields(field, ['interface', 'interfaceRegex', 'reach', 'publicIp']);
  const given = ['interface', 'interfaceRegex', 'reach'].filter((k) => field.field(k).present);
  if (given.length > 1) throw field.invalid(`gives ${given.map((k) => `"${k}"`).join(' and ')}: choose the underlay one way`);
  const publicIpText = field.field('publicIp').optionalString();
  const publicIp = publicIpText === undefined ? undefined : tryParseIp(publicIpText);
  if (publicIpText !== undefined && !publicIp) throw field.field('publicIp').invalid(`must be an IP address, got ${JSON.stringify(publicIpText)}`);
  const withIp = (choice: UnderlayChoice) => (publicIp ? { choice, publicIp } : { choice });
  if (field.field('interface').present) return withIp({ by: 'name', name: field.field('interface').interfaceName() });
  if (field.field('interfaceRegex').present) {
    const source = field.field('interfaceRegex').nonEmptyString();
    let pattern: RegExp;
    try {
      pattern = new RegExp(source);
    } catch (err) {
      throw field.field('interfaceRegex').invalid(`is not a regular expression: ${(err as Error).message}`);
    }
    return withIp({ by: 'regex', pattern });
  }
  if (field.field('reach').present) {
    const text = field.field('reach').string();
    const address = tryParseIp(text);
    if (!address) throw field.field('reach').invalid(`must be an IP address, got ${JSON.stringify(text)}`);
    return withIp({ by: 'reach', address });
  }
  return withIp({ by: 'default-route' });
}

function parseListen(field: ConfigValue): { host: string; port: number } {
  const text = field.optionalString() ?? defaultListen;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|localhost)):([0-9]{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw field.invalid(`must be HOST:PORT such as ${defaultListen} or [::1]:9475, got ${JSON.stringify(text)}`);
  const host = match[1] ?? match[2]!;
  if (host !== 'localhost' && !tryParseIp(host)) throw field.invalid(`has no IP address before the port: ${JSON.stringify(text)}`);
  return { host, port };
}

function parseApi(field: ConfigValue): DaemonOptions['api'] {
  if (field.present) rejectUnknownFields(field, ['socket', 'overlayDataDir']);
  return {
    socket: absolutePath(field.field('socket'), defaultApiSocket),
    overlayDataDir: absolutePath(field.field('overlayDataDir'), defaultOverlayDataDir),
  };
}

function parseXds(field: ConfigValue): DaemonOptions['xds'] {
  if (!field.present) return undefined;
  rejectUnknownFields(field, ['listen']);
  const listen = field.field('listen');
  const text = listen.nonEmptyString();
  if (text.startsWith('unix:')) {
    if (!text.startsWith('unix:/')) throw listen.invalid(`must be unix: with an absolute path, got ${JSON.stringify(text)}`);
    return { listen: text };
  }
  const { host, port } = parseListen(listen);
  return { listen: `${host.includes(':') ? `[${host}]` : host}:${port}` };
}

function parseDns(field: ConfigValue): DaemonOptions['dns'] {
  if (field.present) rejectUnknownFields(field, ['enabled', 'resolvConf']);
  if (field.field('enabled').optionalBoolean() === false) return undefined;
  return { resolvConf: absolutePath(field.field('resolvConf'), defaultResolvConf) };
}

function parseIntervals(field: ConfigValue): DataPathIntervals {
  if (field.present) rejectUnknownFields(field, ['reconcile', 'firewall', 'probe']);
  const seconds = (name: string, fallback: number, min: number) =>
    (field.field(name).optionalInteger({ min, max: 3600 }) ?? fallback) * 1000;
  return {
    reconcileMs: seconds('reconcile', 5, 1),
    firewallMs: seconds('firewall', 60, 1),
    // A round waits a second for its answers before the next may start.
    probeMs: seconds('probe', 5, 2),
  };
}

function parsePlugins(field: ConfigValue): DaemonOptions['plugins'] {
  if (field.present) rejectUnknownFields(field, ['serve', 'workers']);
  return {
    serve: field.field('serve').optionalBoolean() ?? true,
    workers: field.field('workers').optionalInteger({ min: 1, max: 64 }) ?? defaultPluginWorkers,
  };
}

function parseNodeName(field: ConfigValue): string {
  const name = field.optionalString() ?? hostname();
  // Names appear in store values, logs and metric labels: keep them to what host names use.
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/.test(name)) {
    throw field.invalid(`must be 1 to 253 letters, digits, '.', '_' or '-' (starting and ending with a letter or digit), got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Validates the merged options. Errors are code 7 and name the field ("store.endpoints[0]"). */
export function parseDaemonOptions(raw: JsonObject): DaemonOptions {
  try {
    const root = new ConfigValue(raw);
    rejectUnknownFields(root, topFields);
    const stateDir = absolutePath(root.field('stateDir'), defaultStateDir);
    const logLevel = root.field('logLevel').optionalString() ?? 'info';
    if (!(logLevels as readonly string[]).includes(logLevel)) throw root.field('logLevel').invalid(`must be one of ${logLevels.join(', ')}, got ${JSON.stringify(logLevel)}`);
    const { choice, publicIp } = parseUnderlay(root.field('underlay'));
    const network = root.field('network').optionalObject();
    const xds = parseXds(root.field('xds'));
    const dns = parseDns(root.field('dns'));
    const listen = parseListen(root.field('listen'));
    const opsAddress = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
    if (xds?.listen === opsAddress) throw root.field('xds').field('listen').invalid(`must differ from "listen" (${opsAddress}, the health and metrics server)`);
    const plugins = parsePlugins(root.field('plugins'));
    const overlay = root.field('overlay').optionalBoolean() ?? true;
    if (!overlay && !plugins.serve) throw root.field('overlay').invalid('is false and plugins.serve too: weftd would have nothing to do');
    return {
      nodeName: parseNodeName(root.field('nodeName')),
      stateDir,
      subnetFile: absolutePath(root.field('subnetFile'), defaultSubnetFile),
      store: parseStore(root.field('store'), stateDir),
      underlay: choice,
      ...(publicIp ? { publicIp } : {}),
      listen,
      logLevel: logLevel as LogLevel,
      api: parseApi(root.field('api')),
      ...(xds ? { xds } : {}),
      ...(dns ? { dns } : {}),
      ...(network ? { network } : {}),
      intervals: parseIntervals(root.field('intervals')),
      plugins,
      overlay,
    };
  } catch (err) {
    throw daemonConfigError(err);
  }
}

/** Reads the config file's JSON; a missing, unreadable or malformed file is a code-7 error naming it. */
export async function readConfigFile(path: string): Promise<JsonObject> {
  let text: string;
  try {
    text = readBoundedFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'not found' : err instanceof UnreadableFileError ? err.problem : `unreadable: ${(err as Error).message}`;
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid weftd config', `${path}: ${what}`, { cause: err });
  }
  return parseConfigFile(path, text);
}

/** The config file's JSON from its text; malformed JSON is a code-7 error naming the file. */
export function parseConfigFile(path: string, text: string): JsonObject {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid weftd config', `${path}: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid weftd config', `${path}: must hold a JSON object`);
  }
  return json as JsonObject;
}
