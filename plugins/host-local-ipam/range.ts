// One allocatable range: a subnet and the span [rangeStart, rangeEnd] inside it, with its gateway.
// Canonicalization fills the reference plugin's defaults: rangeStart = network + 1, rangeEnd = the
// broadcast address - 1 (IPv4) or the last address (IPv6), gateway = network + 1.
import { addToIp, compareIp, formatIp, ipEquals, type IpAddress } from '../../lib/ip/address.ts';
import { formatCidr, lastAddress, netContains, networkAddress, type IpNet } from '../../lib/ip/cidr.ts';

export interface IpRange {
  /** Host bits clear. */
  readonly subnet: IpNet;
  readonly rangeStart: IpAddress;
  readonly rangeEnd: IpAddress;
  readonly gateway: IpAddress;
}

/** A range as written in a config, addresses already parsed. */
export interface RangeSpec {
  subnet: IpNet;
  rangeStart?: IpAddress | undefined;
  rangeEnd?: IpAddress | undefined;
  gateway?: IpAddress | undefined;
}

/** A range that cannot be allocated from; config.ts reports it as code 7 naming the range set. */
export class InvalidRangeError extends Error {
  override readonly name = 'InvalidRangeError';
}

function checkInSubnet(what: string, ip: IpAddress, subnet: IpNet): void {
  if (!netContains(subnet, ip)) {
    throw new InvalidRangeError(`${what} ${formatIp(ip)} not in network ${formatCidr(subnet)}`);
  }
}

export function canonicalizeRange(spec: RangeSpec): IpRange {
  const { subnet } = spec;
  const family = subnet.address.family;
  const bits = family === 4 ? 32 : 128;
  // A /31 or /32 (/127, /128) leaves nothing once the network address and gateway are set aside.
  if (subnet.prefix > bits - 2) throw new InvalidRangeError(`Network ${formatCidr(subnet)} too small to allocate from`);
  const network = networkAddress(subnet);
  if (!ipEquals(network, subnet.address)) {
    throw new InvalidRangeError(
      `Network has host bits set. For a subnet mask of length ${subnet.prefix} the network address is ${formatIp(network)}`,
    );
  }
  const first = addToIp(network, 1n)!;
  const last = lastAddress(subnet);
  const gateway = spec.gateway ?? first;
  if (gateway.family !== family) {
    throw new InvalidRangeError(`gateway ${formatIp(gateway)} is not the same protocol as subnet ${formatCidr(subnet)}`);
  }
  // The reference accepts any gateway; the bridge then fails to reach it (ENETUNREACH). The network and
  // broadcast addresses pass, as there: the kernel takes them as an interface's address.
  checkInSubnet('Gateway', gateway, subnet);
  const rangeStart = spec.rangeStart ?? first;
  checkInSubnet('RangeStart', rangeStart, subnet);
  const rangeEnd = spec.rangeEnd ?? (family === 4 ? addToIp(last, -1n)! : last);
  checkInSubnet('RangeEnd', rangeEnd, subnet);
  // The reference accepts an inverted span and then walks the whole address space; refuse it.
  if (compareIp(rangeStart, rangeEnd) > 0) {
    throw new InvalidRangeError(`RangeStart ${formatIp(rangeStart)} is after RangeEnd ${formatIp(rangeEnd)}`);
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

export function rangeContains(range: IpRange, ip: IpAddress): boolean {
  return ip.family === range.rangeStart.family
    && compareIp(ip, range.rangeStart) >= 0
    && compareIp(ip, range.rangeEnd) <= 0;
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd)
    || rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd);
}

/**
 * Addresses inside a range that are never handed out: the gateway, the network address and, for IPv4,
 * the broadcast address (the last two only reachable through an explicit rangeStart or rangeEnd).
 */
export function isReservedAddress(range: IpRange, ip: IpAddress): boolean {
  if (ipEquals(ip, range.gateway) || ipEquals(ip, networkAddress(range.subnet))) return true;
  return ip.family === 4 && ipEquals(ip, lastAddress(range.subnet));
}

/** How many addresses the range can hand out. */
export function rangeCapacity(range: IpRange): bigint {
  const span = range.rangeEnd.value - range.rangeStart.value + 1n;
  const keptBack = [range.gateway, networkAddress(range.subnet), lastAddress(range.subnet)]
    .filter((ip) => rangeContains(range, ip) && isReservedAddress(range, ip));
  return span - BigInt(new Set(keptBack.map((ip) => ip.value)).size);
}

/** The reference's text for a range: "rangeStart-rangeEnd". */
export function formatRange(range: IpRange): string {
  return `${formatIp(range.rangeStart)}-${formatIp(range.rangeEnd)}`;
}

/** The address with the range's prefix length, as a result's `address`. */
export function addressInRange(range: IpRange, ip: IpAddress): string {
  return `${formatIp(ip)}/${range.subnet.prefix}`;
}
