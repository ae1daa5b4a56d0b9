// Whole frames peeled from the outside in, following UDP to a VXLAN port into the inner frame, as a
// capture on the underlay needs: what the kernel tests read from pcap files (the daemon only encodes).
import { decodeArp, type ArpPacket } from '../arp.ts';
import { decodeEthernet, EtherType, type EthernetFrame } from '../ethernet.ts';
import { FrameError } from '../frame-error.ts';
import { decodeIp, IpProtocol, type DecodedIp } from '../ip-packet.ts';
import { decodeUdp, type DecodedUdp } from '../udp.ts';
import { decodeVxlan, ianaVxlanPort } from '../vxlan-header.ts';

export interface DecodedFrame {
  readonly ethernet: EthernetFrame;
  readonly arp?: ArpPacket;
  readonly ip?: DecodedIp;
  /** Absent for IP fragments, whose payload is not a whole datagram. */
  readonly udp?: DecodedUdp;
  /** When the UDP datagram went to a VXLAN port: the segment and the frame inside. */
  readonly vxlan?: DecodedVxlanFrame;
}

export interface DecodedVxlanFrame {
  readonly vni: number;
  readonly inner: DecodedFrame;
}

export interface DecodeOptions {
  /** UDP destination ports whose payload is VXLAN; default IANA's 4789. */
  readonly vxlanPorts?: readonly number[];
}

/** Decodes an Ethernet frame as far as this codec knows its layers. Throws FrameError on malformed ones. */
export function decodeFrame(bytes: Uint8Array, options: DecodeOptions = {}): DecodedFrame {
  const ethernet = decodeEthernet(bytes);
  if (ethernet.etherType === EtherType.arp) return { ethernet, arp: decodeArp(ethernet.payload) };
  if (ethernet.etherType !== EtherType.ipv4 && ethernet.etherType !== EtherType.ipv6) return { ethernet };
  const ip = decodeIp(ethernet.payload);
  const expected = ethernet.etherType === EtherType.ipv4 ? 4 : 6;
  if (ip.version !== expected) throw new FrameError('ethernet', `EtherType 0x${ethernet.etherType.toString(16)} carries an IPv${ip.version} packet`);
  if (ip.protocol !== IpProtocol.udp || (ip.version === 4 && ip.fragment)) return { ethernet, ip };
  const udp = decodeUdp(ip.payload, ip.src, ip.dst);
  if (!(options.vxlanPorts ?? [ianaVxlanPort]).includes(udp.dstPort)) return { ethernet, ip, udp };
  return { ethernet, ip, udp, vxlan: decodeVxlanPayload(udp.payload, options) };
}

/** Decodes the payload of a UDP datagram sent to a VXLAN port. */
export function decodeVxlanPayload(bytes: Uint8Array, options: DecodeOptions = {}): DecodedVxlanFrame {
  const { vni, innerFrame } = decodeVxlan(bytes);
  return { vni, inner: decodeFrame(innerFrame, options) };
}
