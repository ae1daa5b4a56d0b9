// IPv4 headers (RFC 791) with their header checksum. Encoding writes no options; decoding skips them.
import { ipFromBytes, ipToBytes } from '../ip/address.ts';
import { internetChecksum } from './checksum.ts';
import { FrameError, need, view } from './frame-error.ts';
import type { IpPacket } from './ip-packet.ts';

export const ipv4HeaderLength = 20;
const flagDontFragment = 0x4000;
const flagMoreFragments = 0x2000;

export interface Ipv4Options {
  /** Identification (default 0); only fragments need a distinct one. */
  readonly id?: number;
  /** Default true: the probe wants an error, not fragments, when a path's MTU is too small. */
  readonly dontFragment?: boolean;
}

export interface DecodedIpv4 extends IpPacket {
  readonly version: 4;
  readonly id: number;
  readonly dontFragment: boolean;
  readonly headerLength: number;
  /** A piece of a fragmented packet: the payload is not a whole upper-layer message. */
  readonly fragment: boolean;
}

export function encodeIpv4(p: IpPacket): Buffer {
  const total = ipv4HeaderLength + p.payload.length;
  if (total > 0xffff) throw new FrameError('ipv4', `packet of ${total} bytes exceeds 65535`);
  const out = Buffer.allocUnsafe(total);
  out[0] = 0x45;
  out[1] = p.trafficClass ?? 0;
  out.writeUInt16BE(total, 2);
  out.writeUInt16BE(p.id ?? 0, 4);
  out.writeUInt16BE(p.dontFragment === false ? 0 : flagDontFragment, 6);
  out[8] = p.hopLimit ?? 64;
  out[9] = p.protocol;
  out.writeUInt16BE(0, 10);
  out.set(ipToBytes(p.src), 12);
  out.set(ipToBytes(p.dst), 16);
  out.writeUInt16BE(internetChecksum(out.subarray(0, ipv4HeaderLength)), 10);
  out.set(p.payload, ipv4HeaderLength);
  return out;
}

export function decodeIpv4(bytes: Uint8Array): DecodedIpv4 {
  need('ipv4', bytes, ipv4HeaderLength, 'an IPv4 header');
  const version = bytes[0]! >> 4;
  if (version !== 4) throw new FrameError('ipv4', `version ${version}`);
  const headerLength = (bytes[0]! & 0x0f) * 4;
  if (headerLength < ipv4HeaderLength) throw new FrameError('ipv4', `header length ${headerLength} is below 20`);
  const v = view(bytes);
  const total = v.getUint16(2);
  if (total < headerLength || total > bytes.length) {
    throw new FrameError('ipv4', `total length ${total} does not fit a header of ${headerLength} and ${bytes.length} bytes`);
  }
  // Summing a header with its checksum field in place gives zero when it is right.
  const check = internetChecksum(bytes.subarray(0, headerLength));
  if (check !== 0) throw new FrameError('ipv4', `header checksum 0x${v.getUint16(10).toString(16)} is wrong`);
  const flags = v.getUint16(6);
  return {
    version: 4,
    src: ipFromBytes(bytes.subarray(12, 16)),
    dst: ipFromBytes(bytes.subarray(16, 20)),
    protocol: bytes[9]!,
    hopLimit: bytes[8]!,
    trafficClass: bytes[1]!,
    id: v.getUint16(4),
    dontFragment: (flags & flagDontFragment) !== 0,
    headerLength,
    fragment: (flags & flagMoreFragments) !== 0 || (flags & 0x1fff) !== 0,
    // Bytes past the total length are link-layer padding.
    payload: bytes.subarray(headerLength, total),
  };
}
