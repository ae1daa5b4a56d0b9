// Results across spec versions, as the reference pkg/types (020, 040, 100) converts them.
//
// Three shapes: 0.1.0/0.2.0 (ip4/ip6), 0.3.0/0.3.1/0.4.0 (ips with `version`), 1.0.0/1.1.0 (current).
// Within a shape a conversion only relabels cniVersion. Across shapes it goes through the current one:
//   old → current: 0.2.0's ip4 then ip6 become ips (their routes, in that order, become routes);
//                  0.4.0's ips lose `version`.
//   current → 0.4.0: each ip gains `version` from its address; interfaces lose mtu/socketPath/pciID.
//   current → 0.2.0: only the first IPv4 and the first IPv6 survive; a route goes to the ip4 or ip6 of its
//                  dst's family (keeping only dst and gw), and is dropped if that family has no address;
//                  a result without any address cannot be written (0.2.0 requires one).
// Printing follows the reference's JSON: 4-space indent, fields in spec order, zero numbers and empty
// lists left out, and `dns` always present ({} when empty) before 1.0.0, omitted when empty from 1.0.0.

import { CniError, ErrorCode } from './errors.ts';
import { ConfigValue } from '../json/config-value.ts';
import { parseJson } from './json.ts';
import { CURRENT_VERSION, DEFAULT_VERSION, quoteList } from './version.ts';
import { tryParseIp } from '../ip/address.ts';
import type {
  Dns,
  Interface,
  Interface040,
  IpConfig,
  IpConfig020,
  IpConfig040,
  Result,
  Result020,
  Result040,
  Route,
  VersionedResult,
} from './types.ts';

/** The result shape a version uses. */
export type ResultShape = '020' | '040' | '100';

const SHAPE_VERSIONS: Readonly<Record<ResultShape, readonly string[]>> = {
  '020': ['0.1.0', '0.2.0'],
  '040': ['0.3.0', '0.3.1', '0.4.0'],
  '100': ['1.0.0', '1.1.0'],
};

export function resultShapeOf(version: string): ResultShape | undefined {
  const v = version === '' ? DEFAULT_VERSION : version;
  return (Object.keys(SHAPE_VERSIONS) as ResultShape[]).find((shape) => SHAPE_VERSIONS[shape].includes(v));
}

function requireShape(version: string, what: string): ResultShape {
  const shape = resultShapeOf(version);
  if (!shape) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `unsupported CNI result version ${JSON.stringify(version)}`,
      `${what}; weft reads and writes results of ${quoteList(Object.values(SHAPE_VERSIONS).flat())}`,
    );
  }
  return shape;
}

// ---- Reading ----

/** `dns` of a config or a result; undefined when absent or empty. */
export function readDns(value: ConfigValue): Dns | undefined {
  if (!value.present) return undefined;
  value.object();
  return compactDns({
    nameservers: value.field('nameservers').optionalStringList(),
    domain: value.field('domain').optionalString(),
    search: value.field('search').optionalStringList(),
    options: value.field('options').optionalStringList(),
  });
}

const UINT = { min: 0 };

export function readRoute(value: ConfigValue): Route {
  value.object();
  return compactRoute({
    dst: value.field('dst').cidr(),
    gw: value.field('gw').optionalIp(),
    mtu: value.field('mtu').optionalInteger(UINT),
    advmss: value.field('advmss').optionalInteger(UINT),
    priority: value.field('priority').optionalInteger(UINT),
    table: value.field('table').optionalInteger(UINT),
    // rtm_scope is one byte.
    scope: value.field('scope').optionalInteger({ min: 0, max: 255 }),
  });
}

function readInterface(value: ConfigValue): Interface {
  value.object();
  return compactInterface({
    // The reference accepts a missing name as "".
    name: value.field('name').optionalString() ?? '',
    mac: value.field('mac').optionalString(),
    mtu: value.field('mtu').optionalInteger(UINT),
    sandbox: value.field('sandbox').optionalString(),
    socketPath: value.field('socketPath').optionalString(),
    pciID: value.field('pciID').optionalString(),
  });
}

function readIpConfig(value: ConfigValue): IpConfig {
  value.object();
  return compactIpConfig({
    address: value.field('address').cidr(),
    gateway: value.field('gateway').optionalIp(),
    interface: value.field('interface').optionalInteger(UINT),
  });
}

function readIpConfig040(value: ConfigValue): IpConfig040 {
  const ip = readIpConfig(value);
  const field = value.field('version');
  const version = field.optionalString() ?? ipVersionOf(ip.address);
  if (version !== '4' && version !== '6') throw field.invalid('must be "4" or "6"');
  return { version, ...ip };
}

function readIpConfig020(value: ConfigValue): IpConfig020 {
  value.object();
  const out: IpConfig020 = { ip: value.field('ip').cidr() };
  const gateway = value.field('gateway').optionalIp();
  const routes = value.field('routes').optionalList()?.map(readRoute);
  if (gateway) out.gateway = gateway;
  if (routes?.length) out.routes = routes;
  return out;
}

function readShape(value: ConfigValue, shape: ResultShape, cniVersion: string): VersionedResult {
  const dns = readDns(value.field('dns'));
  if (shape === '020') {
    const ip4 = value.field('ip4');
    const ip6 = value.field('ip6');
    return make020(cniVersion, ip4.present ? readIpConfig020(ip4) : undefined, ip6.present ? readIpConfig020(ip6) : undefined, dns);
  }
  const interfaces = value.field('interfaces').optionalList()?.map(readInterface);
  const routes = value.field('routes').optionalList()?.map(readRoute);
  const ipList = value.field('ips').optionalList();
  if (shape === '040') return assemble(cniVersion, interfaces, ipList?.map(readIpConfig040), routes, dns, true);
  return assemble(cniVersion, interfaces, ipList?.map(readIpConfig), routes, dns, false);
}

/**
 * Reads a result of any version in its own shape. Its version is its own `cniVersion`, or `fallbackVersion`
 * (the config's) when it has none, as the reference's invoke does. Field errors carry `value`'s error code
 * (7 for a prevResult inside a config, 6 for a delegate's output); an unknown version is code 1.
 */
export function readVersionedResult(value: ConfigValue, fallbackVersion: string): VersionedResult {
  value.object();
  const own = value.field('cniVersion').optionalString();
  const version = own || fallbackVersion || DEFAULT_VERSION;
  const shape = requireShape(version, `result at "${value.path || 'result'}"`);
  return readShape(value, shape, version);
}

/** Reads a result of any version into the current shape (cniVersion 1.1.0). */
export function readResult(value: ConfigValue, fallbackVersion: string): Result {
  return toCurrent(readVersionedResult(value, fallbackVersion));
}

/**
 * Parses result JSON text (a plugin's stdout) of any version in its own shape. Bad JSON or fields are
 * code 6, naming `source`; "null" is an empty result, as in the reference.
 */
export function parseVersionedResult(text: string, fallbackVersion: string, source = 'result'): VersionedResult {
  const json = parseJson(text, ErrorCode.DecodingFailure, `failed to decode ${source}`);
  const value = new ConfigValue(json ?? {}, '', { code: ErrorCode.DecodingFailure, msg: `invalid ${source}` });
  return readVersionedResult(value, fallbackVersion);
}

/** Parses result JSON text of any version into the current shape. */
export function parseResult(text: string, fallbackVersion: string, source = 'result'): Result {
  return toCurrent(parseVersionedResult(text, fallbackVersion, source));
}

// ---- Converting ----

/** IP version of an address for a 0.4.0 ips entry; IPv4-mapped IPv6 counts as 4, as Go's To4() has it. */
function ipVersionOf(cidr: string): '4' | '6' {
  const ip = tryParseIp(cidr.slice(0, cidr.indexOf('/')));
  if (!ip || ip.family === 4) return '4';
  return ip.value >> 32n === 0xffffn ? '4' : '6';
}

function compactDns(dns: Dns): Dns | undefined {
  const out: Dns = {};
  if (dns.nameservers?.length) out.nameservers = [...dns.nameservers];
  if (dns.domain) out.domain = dns.domain;
  if (dns.search?.length) out.search = [...dns.search];
  if (dns.options?.length) out.options = [...dns.options];
  return Object.keys(out).length > 0 ? out : undefined;
}

function compactRoute(route: Route): Route {
  const out: Route = { dst: route.dst };
  if (route.gw) out.gw = route.gw;
  if (route.mtu) out.mtu = route.mtu;
  if (route.advmss) out.advmss = route.advmss;
  if (route.priority) out.priority = route.priority;
  // Pointers in the reference: 0 is a value here (table 0, scope 0 = global).
  if (route.table !== undefined) out.table = route.table;
  if (route.scope !== undefined) out.scope = route.scope;
  return out;
}

function compactInterface(intf: Interface): Interface {
  const out: Interface = { name: intf.name };
  if (intf.mac) out.mac = intf.mac;
  if (intf.mtu) out.mtu = intf.mtu;
  if (intf.sandbox) out.sandbox = intf.sandbox;
  if (intf.socketPath) out.socketPath = intf.socketPath;
  if (intf.pciID) out.pciID = intf.pciID;
  return out;
}

// Field order as the reference prints it: interface, address, gateway.
function compactIpConfig(ip: IpConfig): IpConfig {
  const out = (ip.interface !== undefined ? { interface: ip.interface } : {}) as IpConfig;
  out.address = ip.address;
  if (ip.gateway) out.gateway = ip.gateway;
  return out;
}

function make020(cniVersion: string, ip4: IpConfig020 | undefined, ip6: IpConfig020 | undefined, dns: Dns | undefined): Result020 {
  const out: Result020 = { cniVersion };
  if (ip4) out.ip4 = ip4;
  if (ip6) out.ip6 = ip6;
  out.dns = (dns && compactDns(dns)) ?? {};
  return out;
}

function nonEmpty<T>(items: T[] | undefined): T[] | undefined {
  return items?.length ? items : undefined;
}

/** Builds a result in spec field order, leaving out what the reference's JSON leaves out. */
function assemble<I, P>(cniVersion: string, interfaces: I[] | undefined, ips: P[] | undefined, routes: Route[] | undefined, dns: Dns | undefined, dnsAlways: boolean) {
  const out: { cniVersion: string; interfaces?: I[]; ips?: P[]; routes?: Route[]; dns?: Dns } = { cniVersion };
  const i = nonEmpty(interfaces);
  const p = nonEmpty(ips);
  const r = nonEmpty(routes?.map(compactRoute));
  const d = dns && compactDns(dns);
  if (i) out.interfaces = i;
  if (p) out.ips = p;
  if (r) out.routes = r;
  if (d || dnsAlways) out.dns = d ?? {};
  return out;
}

function current(cniVersion: string, from: Result): Result {
  return assemble(cniVersion, from.interfaces?.map(compactInterface), from.ips?.map(compactIpConfig), from.routes, from.dns, false);
}

function from020(from: Result020): Result {
  const ips: IpConfig[] = [];
  const routes: Route[] = [];
  for (const ipc of [from.ip4, from.ip6]) {
    if (!ipc) continue;
    ips.push(compactIpConfig({ address: ipc.ip, gateway: ipc.gateway }));
    routes.push(...(ipc.routes ?? []));
  }
  return assemble(CURRENT_VERSION, undefined, ips, routes, from.dns, false);
}

function to040(cniVersion: string, from: Result): Result040 {
  const interfaces = from.interfaces?.map(({ name, mac, sandbox }): Interface040 => compactInterface({ name, mac, sandbox }));
  const ips = from.ips?.map((ip): IpConfig040 => ({ version: ipVersionOf(ip.address), ...compactIpConfig(ip) }));
  return assemble(cniVersion, interfaces, ips, from.routes, from.dns, true);
}

function to020(cniVersion: string, from: Result): Result020 {
  let ip4: IpConfig020 | undefined;
  let ip6: IpConfig020 | undefined;
  for (const ip of from.ips ?? []) {
    const entry: IpConfig020 = { ip: ip.address };
    if (ip.gateway) entry.gateway = ip.gateway;
    if (ipVersionOf(ip.address) === '4') ip4 ??= entry;
    else ip6 ??= entry;
  }
  if (!ip4 && !ip6) {
    throw new CniError(ErrorCode.IncompatibleVersion, 'cannot convert: no valid IP addresses', `a ${cniVersion} result needs at least one IP address`);
  }
  for (const route of from.routes ?? []) {
    const target = ipVersionOf(route.dst) === '4' ? ip4 : ip6;
    if (target) (target.routes ??= []).push(compactRoute({ dst: route.dst, gw: route.gw }));
  }
  return make020(cniVersion, ip4, ip6, from.dns);
}

function shapeOfResult(result: VersionedResult): ResultShape {
  return requireShape(result.cniVersion, 'result to convert');
}

/** Any result to the current shape (cniVersion 1.1.0). */
export function toCurrent(result: VersionedResult): Result {
  switch (shapeOfResult(result)) {
    case '020':
      return from020(result as Result020);
    case '040': // compactIpConfig keeps interface, address and gateway: 0.4.0's `version` falls away.
    case '100':
      return current(CURRENT_VERSION, result as Result);
  }
}

/**
 * A current-shape result written as `toVersion` ('' means 0.1.0). The input's own cniVersion is ignored:
 * a plugin builds results in the current shape. Throws code 1 for an unknown version or a result 0.2.0
 * cannot express.
 */
export function convertResult(result: Result, toVersion: string): VersionedResult {
  const version = toVersion === '' ? DEFAULT_VERSION : toVersion;
  switch (requireShape(version, 'result conversion')) {
    case '020':
      return to020(version, result);
    case '040':
      return to040(version, result);
    case '100':
      return current(version, result);
  }
}

/**
 * A result of any version written as `toVersion`: within one shape only cniVersion changes (the
 * reference's converters copy), across shapes it goes through the current shape.
 */
export function convertVersionedResult(result: VersionedResult, toVersion: string): VersionedResult {
  const version = toVersion === '' ? DEFAULT_VERSION : toVersion;
  const shape = shapeOfResult(result);
  if (requireShape(version, 'result conversion') === shape) {
    if (shape === '100') return current(version, result as Result);
    if (shape === '040') {
      const from = result as Result040;
      return assemble(version, from.interfaces?.map(compactInterface), from.ips?.map((ip) => ({ version: ip.version, ...compactIpConfig(ip) })), from.routes, from.dns, true);
    }
    const from = structuredClone(result as Result020);
    return make020(version, from.ip4, from.ip6, from.dns);
  }
  return convertResult(toCurrent(result), version);
}

/** The result as printed on stdout (the reference's 4-space indented JSON). */
export function resultToJson(result: VersionedResult): string {
  return `${JSON.stringify(result, null, 4)}\n`;
}
