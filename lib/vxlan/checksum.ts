// The Internet checksum (RFC 1071): the one's-complement of the one's-complement sum of 16-bit words.
// IPv4 headers carry it over themselves; UDP over a pseudo header of the IP addresses, the protocol and
// the length, then the datagram (RFC 768, RFC 8200 §8.1).
import { ipToBytes, type IpAddress } from '../ip/address.ts';

/** Adds `bytes` as big-endian 16-bit words (an odd last byte padded with zero) to a running sum. */
export function addWords(sum: number, bytes: Uint8Array): number {
  let s = sum;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (even !== bytes.length) s += bytes[even]! << 8;
  // Fold now and then so the sum stays a small integer for any length.
  return (s & 0xffff) + (s >>> 16);
}

/** Folds the carries of a running sum and complements it. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function internetChecksum(bytes: Uint8Array): number {
  return finishChecksum(addWords(0, bytes));
}

/** The running sum of the pseudo header an upper-layer checksum covers, for either IP version. */
export function pseudoHeaderSum(src: IpAddress, dst: IpAddress, protocol: number, length: number): number {
  if (src.family !== dst.family) throw new TypeError('pseudo header: source and destination are of different families');
  let sum = addWords(addWords(0, ipToBytes(src)), ipToBytes(dst));
  // IPv4: zero, protocol, 16-bit length. IPv6: 32-bit length, three zero bytes, next header. As words
  // both come to the same: the protocol and the length (split in halves) added in.
  sum += protocol + (length >>> 16) + (length & 0xffff);
  return sum;
}
