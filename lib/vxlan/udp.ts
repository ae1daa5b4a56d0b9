// UDP datagrams (RFC 768) with the checksum over the IP pseudo header. Over IPv4 a zero checksum means
// "none"; over IPv6 one is mandatory (RFC 8200 §8.1), so a computed zero is sent as 0xffff in both.
import type { IpAddress } from '../ip/address.ts';
import { addWords, finishChecksum, pseudoHeaderSum } from './checksum.ts';
import { FrameError, need, view } from './frame-error.ts';
import { IpProtocol } from './ip-packet.ts';

export const udpHeaderLength = 8;

export interface UdpDatagram {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/** 'absent': an IPv4 sender left it zero; 'invalid' also covers a checksum a NIC was to fill in (offload). */
export type ChecksumStatus = 'valid' | 'absent' | 'invalid';

export interface DecodedUdp extends UdpDatagram {
  readonly checksum: ChecksumStatus;
}

function checkPort(port: number, which: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new FrameError('udp', `${which} port ${port} is not 0-65535`);
}

export interface UdpEncodeOptions {
  /** IPv4 only: leave the checksum zero (as the kernel's VXLAN does for its outer UDP by default). */
  readonly noChecksum?: boolean;
}

/** `src` and `dst` are the IP addresses the datagram travels between (the pseudo header). */
export function encodeUdp(d: UdpDatagram, src: IpAddress, dst: IpAddress, options: UdpEncodeOptions = {}): Buffer {
  checkPort(d.srcPort, 'source');
  checkPort(d.dstPort, 'destination');
  const length = udpHeaderLength + d.payload.length;
  if (length > 0xffff) throw new FrameError('udp', `datagram of ${length} bytes exceeds 65535`);
  if (options.noChecksum && src.family === 6) throw new FrameError('udp', 'IPv6 requires a UDP checksum');
  const out = Buffer.allocUnsafe(length);
  out.writeUInt16BE(d.srcPort, 0);
  out.writeUInt16BE(d.dstPort, 2);
  out.writeUInt16BE(length, 4);
  out.writeUInt16BE(0, 6);
  out.set(d.payload, udpHeaderLength);
  if (!options.noChecksum) {
    const sum = finishChecksum(addWords(pseudoHeaderSum(src, dst, IpProtocol.udp, length), out));
    out.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  }
  return out;
}

export function decodeUdp(bytes: Uint8Array, src: IpAddress, dst: IpAddress): DecodedUdp {
  need('udp', bytes, udpHeaderLength, 'a UDP header');
  const v = view(bytes);
  const length = v.getUint16(4);
  if (length < udpHeaderLength || length > bytes.length) {
    throw new FrameError('udp', `length ${length} does not fit the ${bytes.length} bytes present`);
  }
  const datagram = bytes.subarray(0, length);
  const sent = v.getUint16(6);
  let checksum: ChecksumStatus;
  if (sent === 0) checksum = src.family === 4 ? 'absent' : 'invalid';
  else checksum = finishChecksum(addWords(pseudoHeaderSum(src, dst, IpProtocol.udp, length), datagram)) === 0 ? 'valid' : 'invalid';
  return { srcPort: v.getUint16(0), dstPort: v.getUint16(2), payload: datagram.subarray(udpHeaderLength), checksum };
}
