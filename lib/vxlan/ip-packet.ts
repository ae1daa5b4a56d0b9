// An IP packet of either version, as far as an overlay probe or a capture reader needs: the addresses,
// the protocol it carries and its payload. ipv4.ts and ipv6.ts hold the wire formats.
import type { IpAddress } from '../ip/address.ts';
import { FrameError } from './frame-error.ts';
import { decodeIpv4, encodeIpv4, type DecodedIpv4, type Ipv4Options } from './ipv4.ts';
import { decodeIpv6, encodeIpv6, type DecodedIpv6, type Ipv6Options } from './ipv6.ts';

export const IpProtocol = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const;

export interface IpPacket extends Ipv4Options, Ipv6Options {
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** IPv4's protocol, IPv6's next header. */
  readonly protocol: number;
  /** IPv4's TTL, IPv6's hop limit; default 64. */
  readonly hopLimit?: number;
  /** IPv4's TOS byte, IPv6's traffic class (DSCP and ECN); default 0. */
  readonly trafficClass?: number;
  readonly payload: Uint8Array;
}

export type DecodedIp = DecodedIpv4 | DecodedIpv6;

export function encodeIp(packet: IpPacket): Buffer {
  if (packet.src.family !== packet.dst.family) {
    throw new FrameError(packet.src.family === 4 ? 'ipv4' : 'ipv6', 'source and destination are of different families');
  }
  return packet.src.family === 4 ? encodeIpv4(packet) : encodeIpv6(packet);
}

/** Decodes by the version nibble. */
export function decodeIp(bytes: Uint8Array): DecodedIp {
  const version = (bytes[0] ?? 0) >> 4;
  if (version === 4) return decodeIpv4(bytes);
  if (version === 6) return decodeIpv6(bytes);
  throw new FrameError('ipv4', `IP version ${version}`);
}
