// The host-local section of a network config, as the reference plugin reads it:
//   ipam.ranges          list of range sets, each a list of {subnet, rangeStart?, rangeEnd?, gateway?}
//   ipam.subnet, …       the older single-range form, put before `ranges`
//   runtimeConfig.ipRanges  (capability ipRanges) range sets put before all others
//   ipam.routes, ipam.dataDir (default /var/lib/cni/networks), ipam.resolvConf (→ the result's dns)
// Requested addresses: CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips (capability ips), in that order.
import { parseCniArgs } from '../../lib/cni/args.ts';
import { ConfigValue } from '../../lib/json/config-value.ts';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { readRoute } from '../../lib/cni/result.ts';
import { versionAtLeast } from '../../lib/cni/version.ts';
import type { NetConf, Route } from '../../lib/cni/types.ts';
import { parseIp, tryParseIp, type IpAddress } from '../../lib/ip/address.ts';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { DEFAULT_DATA_DIR } from './disk-store.ts';
import { InvalidRangeError, type RangeSpec } from './range.ts';
import { canonicalizeRangeSet, rangeSetFamily, rangeSetsOverlap, type RangeSet } from './range-set.ts';

export interface HostLocalIpam {
  /** At least one; ADD takes one address from each. */
  ranges: RangeSet[];
  routes: Route[];
  dataDir: string;
  resolvConf?: string;
  /** Requested through args.cni.ips and runtimeConfig.ips (CNI_ARGS is read per call: see cniArgsIps). */
  requestedIps: IpAddress[];
}

export interface HostLocalConf extends NetConf {
  hostLocal: HostLocalIpam;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address, as the reference's canonical form has it. */
function unmapIp(ip: IpAddress): IpAddress {
  return ip.family === 6 && ip.value >> 32n === 0xffffn ? { family: 4, value: ip.value & 0xffffffffn } : ip;
}

function readRangeSpec(value: ConfigValue): RangeSpec {
  value.object();
  const ip = (field: string) => {
    const text = value.field(field).optionalIp();
    return text === undefined ? undefined : parseIp(text);
  };
  return { subnet: parseCidr(value.field('subnet').cidr()), rangeStart: ip('rangeStart'), rangeEnd: ip('rangeEnd'), gateway: ip('gateway') };
}

function readRangeSets(value: ConfigValue): RangeSpec[][] {
  return value.optionalList()?.map((set) => set.list().map(readRangeSpec)) ?? [];
}

/** "10.1.0.5" or "10.1.0.5/24", as the reference reads both lists (the address is what counts). */
function readRequestedIp(value: ConfigValue): IpAddress {
  const text = value.string();
  const ip = tryParseIp(text.includes('/') ? text.slice(0, text.indexOf('/')) : text);
  if (!ip) throw value.invalid(`cannot understand ip: ${JSON.stringify(text)}`);
  return unmapIp(ip);
}

function canonicalizeAll(specs: RangeSpec[][]): RangeSet[] {
  if (specs.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, 'no IP ranges specified');
  const sets = specs.map((set, index) => {
    try {
      return canonicalizeRangeSet(set);
    } catch (err) {
      if (err instanceof InvalidRangeError) {
        throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid range set ${index}: ${err.message}`);
      }
      throw err;
    }
  });
  for (let i = 0; i < sets.length; i++) {
    for (let j = i + 1; j < sets.length; j++) {
      if (rangeSetsOverlap(sets[i]!, sets[j]!)) {
        throw new CniError(ErrorCode.InvalidNetworkConfig, `range set ${i} overlaps with ${j}`);
      }
    }
  }
  return sets;
}

/** The skeleton's parseConfig for host-local: every error is code 7 naming the field, or code 1. */
export function parseHostLocalConf(base: NetConf, raw: ConfigValue): HostLocalConf {
  const ipam = raw.field('ipam');
  if (!ipam.present) throw new CniError(ErrorCode.InvalidNetworkConfig, "IPAM config missing 'ipam' key");
  ipam.object();
  const runtimeConfig = raw.field('runtimeConfig');

  const specs = [
    ...readRangeSets(runtimeConfig.field('ipRanges')),
    ...(ipam.field('subnet').present ? [[readRangeSpec(ipam)]] : []),
    ...readRangeSets(ipam.field('ranges')),
  ];
  const ranges = canonicalizeAll(specs);
  // 0.1.0 and 0.2.0 results hold one address per family.
  const families = ranges.map(rangeSetFamily);
  if (families.length !== new Set(families).size && !versionAtLeast(base.cniVersion, '0.3.0')) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `CNI version ${base.cniVersion} does not support more than 1 address per family`,
    );
  }

  const hostLocal: HostLocalIpam = {
    ranges,
    routes: ipam.field('routes').optionalList()?.map(readRoute) ?? [],
    // Relative, the DEL could look elsewhere than the ADD wrote.
    dataDir: ipam.field('dataDir').absoluteFilePath(DEFAULT_DATA_DIR),
    requestedIps: [
      ...(raw.field('args').field('cni').field('ips').optionalList()?.map(readRequestedIp) ?? []),
      ...(runtimeConfig.field('ips').optionalList()?.map(readRequestedIp) ?? []),
    ],
  };
  const resolvConf = ipam.field('resolvConf').optionalFilePath();
  if (resolvConf) hostLocal.resolvConf = resolvConf;
  return { ...base, hostLocal };
}

function parseIpArg(text: string): IpAddress[] {
  return text.split(',').map((part) => unmapIp(parseIp(part)));
}

/** Addresses requested through CNI_ARGS "IP=" (comma-separated); code 4 on a bad value or unknown key. */
export function cniArgsIps(cniArgs: string): IpAddress[] {
  return parseCniArgs(cniArgs, { IP: parseIpArg }).IP ?? [];
}
