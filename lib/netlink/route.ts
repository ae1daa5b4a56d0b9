// Routes (IPv4 and IPv6): RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE.
import { formatIp, ipFromBytes, ipToBytes, type IpAddress, type IpFamily } from '../ip/address.ts';
import { formatCidr, maskedNet, type IpNet } from '../ip/cidr.ts';
import { Attrs, MessageWriter, readU32 } from './codec.ts';
import { describeLink, type LinkRef, type Resolver } from './link.ts';
import { AF_INET, AF_UNSPEC, Flags, NLM_F_DUMP, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE, addressFamily, scopeName, scopeNumber, type Scope } from './rtnetlink.ts';
import type { Request } from './socket.ts';

// linux/rtnetlink.h
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTAX_MTU = 2;
const RTAX_ADVMSS = 8;
const RTNH_F_ONLINK = 0x4;
const RTM_F_CLONED = 0x200;
const RTPROT_BOOT = 3;

/** The main routing table, where routes go unless told otherwise. */
export const mainTable = 254;

const routeTypes = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat'] as const;
export type RouteType = Exclude<(typeof routeTypes)[number], 'unspec'>;

export interface RouteSpec {
  /** Destination; 0.0.0.0/0 or ::/0 for a default route. Host bits are ignored. */
  readonly dst: IpNet;
  readonly gw?: IpAddress;
  readonly link?: LinkRef;
  /** Preferred source address for traffic this route carries. */
  readonly src?: IpAddress;
  /** Treat the gateway as on-link even if no prefix on the link covers it. */
  readonly onlink?: boolean;
  readonly metric?: number;
  readonly table?: number;
  /** Default: `link` for IPv4 routes without a gateway (as `ip route` does), else `universe`. */
  readonly scope?: Scope;
  /** Who installed the route (RTPROT_*; default `boot` = 3, as `ip route`). */
  readonly protocol?: number;
  readonly type?: RouteType;
  readonly mtu?: number;
  readonly advmss?: number;
}

export interface Route {
  readonly dst: IpNet;
  readonly gw?: IpAddress;
  readonly link?: number;
  readonly src?: IpAddress;
  readonly onlink: boolean;
  readonly metric?: number;
  readonly table: number;
  readonly scope: Scope;
  readonly protocol: number;
  readonly type: RouteType | 'unspec';
  readonly mtu?: number;
  readonly advmss?: number;
}

function describeRoute(r: RouteSpec): string {
  const parts = [formatCidr(maskedNet(r.dst))];
  if (r.gw) parts.push(`via ${formatIp(r.gw)}`);
  if (r.link !== undefined) parts.push(`dev ${describeLink(r.link).replace(/^link /, '')}`);
  if (r.table !== undefined && r.table !== mainTable) parts.push(`table ${r.table}`);
  if (r.metric !== undefined) parts.push(`metric ${r.metric}`);
  return parts.join(' ');
}

export function routeRequest(op: 'add' | 'replace' | 'delete', spec: RouteSpec, r: Resolver): Request {
  const dst = maskedNet(spec.dst);
  const family = dst.address.family;
  for (const ip of [spec.gw, spec.src]) {
    if (ip && ip.family !== family) throw new TypeError(`route ${describeRoute(spec)}: ${formatIp(ip)} is not of the destination's family`);
  }
  const table = spec.table ?? mainTable;
  const del = op === 'delete';
  // As `ip route`: a deletion matches any scope, protocol and type unless told.
  const scope = spec.scope ?? (del ? 'nowhere' : family === 4 && !spec.gw ? 'link' : 'universe');
  const type = spec.type ?? (del ? undefined : 'unicast');
  const w = new MessageWriter(del ? RTM_DELROUTE : RTM_NEWROUTE, op === 'add' ? Flags.create : op === 'replace' ? Flags.replace : Flags.none)
    .u8(addressFamily(family))
    .u8(dst.prefix)
    .u8(0) // src_len
    .u8(0) // tos
    .u8(table < 256 ? table : 0)
    .u8(spec.protocol ?? (del ? 0 : RTPROT_BOOT))
    .u8(scopeNumber(scope))
    .u8(type ? routeTypes.indexOf(type) : 0)
    .u32(spec.onlink ? RTNH_F_ONLINK : 0);
  w.attrU32(RTA_TABLE, table);
  if (dst.prefix > 0) w.attrBytes(RTA_DST, ipToBytes(dst.address));
  if (spec.gw) w.attrBytes(RTA_GATEWAY, ipToBytes(spec.gw));
  if (spec.link !== undefined) w.attrU32(RTA_OIF, r.index(spec.link));
  if (spec.src) w.attrBytes(RTA_PREFSRC, ipToBytes(spec.src));
  if (spec.metric !== undefined) w.attrU32(RTA_PRIORITY, spec.metric);
  if (spec.mtu !== undefined || spec.advmss !== undefined) {
    w.nest(RTA_METRICS, () => {
      if (spec.mtu !== undefined) w.attrU32(RTAX_MTU, spec.mtu);
      if (spec.advmss !== undefined) w.attrU32(RTAX_ADVMSS, spec.advmss);
    });
  }
  return { message: w.finish(), operation: () => `${op} route ${describeRoute(spec)}` };
}

export function routeDumpRequest(family?: IpFamily): Request {
  const w = new MessageWriter(RTM_GETROUTE, NLM_F_DUMP)
    .u8(family ? addressFamily(family) : AF_UNSPEC)
    .u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0)
    .u32(0);
  return { message: w.finish(), operation: () => 'list routes' };
}

/** The kernel's choice for a packet to `dst` (`ip route get`): policy rules, every table, the source it would use. */
export function routeGetRequest(dst: IpAddress): Request {
  const w = new MessageWriter(RTM_GETROUTE, 0)
    .u8(addressFamily(dst.family))
    .u8(dst.family === 4 ? 32 : 128).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0)
    .u32(0)
    .attrBytes(RTA_DST, ipToBytes(dst));
  return { message: w.finish(), operation: () => `look up the route to ${formatIp(dst)}` };
}

/** Decodes a RTM_NEWROUTE body; undefined for cached clones (not configuration). */
export function decodeRoute(body: Buffer): Route | undefined {
  return readU32(body, 8) & RTM_F_CLONED ? undefined : readRoute(body);
}

/** Decodes a RTM_NEWROUTE body, the kernel's answer to a route lookup (a clone) included. */
export function readRoute(body: Buffer): Route {
  const flags = readU32(body, 8);
  const family: IpFamily = body[0] === AF_INET ? 4 : 6;
  const a = new Attrs(body, 12);
  const ip = (type: number): IpAddress | undefined => {
    const b = a.bytes(type);
    return b && (b.length === 4 || b.length === 16) ? ipFromBytes(b) : undefined;
  };
  const dst = ip(RTA_DST) ?? { family, value: 0n };
  const gw = ip(RTA_GATEWAY);
  const src = ip(RTA_PREFSRC);
  const link = a.u32(RTA_OIF);
  const metric = a.u32(RTA_PRIORITY);
  const metrics = a.nested(RTA_METRICS);
  const mtu = metrics?.u32(RTAX_MTU);
  const advmss = metrics?.u32(RTAX_ADVMSS);
  return {
    dst: { address: dst, prefix: body[1]! },
    ...(gw && { gw }),
    ...(link !== undefined && { link }),
    ...(src && { src }),
    onlink: (flags & RTNH_F_ONLINK) !== 0,
    ...(metric !== undefined && { metric }),
    table: a.u32(RTA_TABLE) ?? body[4]!,
    scope: scopeName(body[6]!),
    protocol: body[5]!,
    type: routeTypes[body[7]!] ?? 'unspec',
    ...(mtu !== undefined && { mtu }),
    ...(advmss !== undefined && { advmss }),
  };
}
