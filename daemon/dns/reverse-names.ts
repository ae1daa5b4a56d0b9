// Reverse names (RFC 1035 in-addr.arpa, RFC 3596 ip6.arpa) of addresses and networks: PTR records for
// container addresses, and the reverse zones of the overlay networks weftd answers for itself.
import { familyBits, type IpAddress } from '../../lib/ip/address.ts';
import type { IpNet } from '../../lib/ip/cidr.ts';

const suffix = { 4: 'in-addr.arpa', 6: 'ip6.arpa' } as const;
// IPv4 names count octets, IPv6 names nibbles.
const labelBits = { 4: 8, 6: 4 } as const;

/** The labels of the top `count` label-sized pieces of `address`, most significant last. */
function labels(address: IpAddress, count: number): string[] {
  const bits = labelBits[address.family];
  const total = familyBits(address.family) / bits;
  const out: string[] = [];
  for (let i = total - count; i < total; i++) {
    const piece = (address.value >> BigInt(i * bits)) & ((1n << BigInt(bits)) - 1n);
    out.push(address.family === 4 ? piece.toString(10) : piece.toString(16));
  }
  return out;
}

/** "5.3.244.10.in-addr.arpa" for 10.244.3.5. */
export function reverseName(address: IpAddress): string {
  const count = familyBits(address.family) / labelBits[address.family];
  return [...labels(address, count), suffix[address.family]].join('.');
}

/**
 * The reverse zone holding a network's names: its prefix rounded down to whole labels (10.244.0.0/16 →
 * "244.10.in-addr.arpa", fd00:10:244::/56 → 14 nibbles).
 */
export function reverseZone(net: IpNet): string {
  const count = Math.floor(net.prefix / labelBits[net.address.family]);
  return [...labels(net.address, count), suffix[net.address.family]].join('.');
}

/** The address a complete reverse name (lowercase) stands for; undefined for any other name. */
export function parseReverseName(name: string): IpAddress | undefined {
  for (const family of [4, 6] as const) {
    if (!name.endsWith(`.${suffix[family]}`)) continue;
    const parts = name.slice(0, -suffix[family].length - 1).split('.');
    const bits = labelBits[family];
    if (parts.length !== familyBits(family) / bits) return undefined;
    const pattern = family === 4 ? /^(0|[1-9][0-9]{0,2})$/ : /^[0-9a-f]$/;
    let value = 0n;
    for (const part of parts.reverse()) {
      if (!pattern.test(part)) return undefined;
      const piece = BigInt(family === 4 ? Number(part) : parseInt(part, 16));
      if (piece >= 1n << BigInt(bits)) return undefined;
      value = (value << BigInt(bits)) | piece;
    }
    return { family, value };
  }
  return undefined;
}
