// IPv6 fixed headers (RFC 8200). Extension headers are not walked: `protocol` is the next header as sent.
import { ipFromBytes, ipToBytes } from '../ip/address.ts';
import { FrameError, need, view } from './frame-error.ts';
import type { IpPacket } from './ip-packet.ts';

export const ipv6HeaderLength = 40;

export interface Ipv6Options {
  /** 20 bits; default 0. */
  readonly flowLabel?: number;
}

export interface DecodedIpv6 extends IpPacket {
  readonly version: 6;
  readonly flowLabel: number;
}

export function encodeIpv6(p: IpPacket): Buffer {
  if (p.payload.length > 0xffff) throw new FrameError('ipv6', `payload of ${p.payload.length} bytes needs a jumbogram`);
  const flowLabel = p.flowLabel ?? 0;
  if (flowLabel < 0 || flowLabel > 0xfffff) throw new FrameError('ipv6', `flow label ${flowLabel} is not 20 bits`);
  const out = Buffer.allocUnsafe(ipv6HeaderLength + p.payload.length);
  const tc = p.trafficClass ?? 0;
  out.writeUInt32BE(((6 << 28) | (tc << 20) | flowLabel) >>> 0, 0);
  out.writeUInt16BE(p.payload.length, 4);
  out[6] = p.protocol;
  out[7] = p.hopLimit ?? 64;
  out.set(ipToBytes(p.src), 8);
  out.set(ipToBytes(p.dst), 24);
  out.set(p.payload, ipv6HeaderLength);
  return out;
}

export function decodeIpv6(bytes: Uint8Array): DecodedIpv6 {
  need('ipv6', bytes, ipv6HeaderLength, 'an IPv6 header');
  const v = view(bytes);
  const first = v.getUint32(0);
  const version = first >>> 28;
  if (version !== 6) throw new FrameError('ipv6', `version ${version}`);
  const length = v.getUint16(4);
  if (ipv6HeaderLength + length > bytes.length) {
    throw new FrameError('ipv6', `payload length ${length} exceeds the ${bytes.length - ipv6HeaderLength} bytes present`);
  }
  return {
    version: 6,
    src: ipFromBytes(bytes.subarray(8, 24)),
    dst: ipFromBytes(bytes.subarray(24, 40)),
    protocol: bytes[6]!,
    hopLimit: bytes[7]!,
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payload: bytes.subarray(ipv6HeaderLength, ipv6HeaderLength + length),
  };
}
