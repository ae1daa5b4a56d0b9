// CIDR prefixes: parsing, containment and overlap, over lib/ip/address.ts.
import { familyBits, familyMax, formatIp, tryParseIp, type IpAddress, type IpFamily } from './address.ts';

export { familyBits } from './address.ts';

/** An address with its prefix length; host bits are kept as written (like Go's net.ParseCIDR IP). */
export interface IpNet {
  readonly address: IpAddress;
  readonly prefix: number;
}

export function prefixMask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  return familyMax(family) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

export function tryParseCidr(text: string): IpNet | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = tryParseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!address || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > familyBits(address.family)) return undefined;
  return { address, prefix };
}

export function parseCidr(text: string): IpNet {
  const net = tryParseCidr(text);
  if (!net) throw new TypeError(`invalid CIDR: ${JSON.stringify(text)}`);
  return net;
}

export function formatCidr(net: IpNet): string {
  return `${formatIp(net.address)}/${net.prefix}`;
}

export function networkAddress(net: IpNet): IpAddress {
  return { family: net.address.family, value: net.address.value & prefixMask(net.address.family, net.prefix) };
}

/** The last address of the prefix: the broadcast address for IPv4. */
export function lastAddress(net: IpNet): IpAddress {
  const family = net.address.family;
  return { family, value: networkAddress(net).value | (familyMax(family) ^ prefixMask(family, net.prefix)) };
}

/** The prefix with host bits cleared. */
export function maskedNet(net: IpNet): IpNet {
  return { address: networkAddress(net), prefix: net.prefix };
}

export function netContains(net: IpNet, ip: IpAddress): boolean {
  if (net.address.family !== ip.family) return false;
  const mask = prefixMask(ip.family, net.prefix);
  return (ip.value & mask) === (net.address.value & mask);
}

export function netsOverlap(a: IpNet, b: IpNet): boolean {
  return netContains(a, b.address) || netContains(b, a.address);
}

/** Number of addresses in the prefix. */
export function netSize(net: IpNet): bigint {
  return 1n << BigInt(familyBits(net.address.family) - net.prefix);
}
