// Whole frames: an Ethernet frame and what it carries (ARP, or IP and UDP), and VXLAN's nesting of one
// frame inside another's UDP. Encoding builds a frame from the inside out; decoding peels it from the
// outside in, following UDP to a VXLAN port into the inner frame (as a capture on the underlay needs).
import { decodeArp, encodeArp, type ArpPacket } from './arp.ts';
import { decodeEthernet, encodeEthernet, EtherType, type EthernetFrame } from './ethernet.ts';
import { FrameError } from './frame-error.ts';
import { decodeIp, encodeIp, IpProtocol, type DecodedIp, type IpPacket } from './ip-packet.ts';
import { decodeUdp, encodeUdp, type DecodedUdp, type UdpDatagram } from './udp.ts';
import { decodeVxlan, encodeVxlan, ianaVxlanPort } from './vxlan-header.ts';

/** The IP header fields of a UDP packet (protocol and payload follow from the datagram). */
export type IpHeaderFields = Omit<IpPacket, 'protocol' | 'payload'>;

export type FrameContent =
  | { readonly kind: 'arp'; readonly arp: ArpPacket }
  | { readonly kind: 'ip'; readonly ip: IpPacket }
  | { readonly kind: 'udp'; readonly ip: IpHeaderFields; readonly udp: UdpDatagram };

export interface FrameSpec {
  readonly dst: string;
  readonly src: string;
  readonly content: FrameContent;
}

function encodeContent(content: FrameContent): { etherType: number; payload: Buffer } {
  switch (content.kind) {
    case 'arp':
      return { etherType: EtherType.arp, payload: encodeArp(content.arp) };
    case 'ip':
      return { etherType: content.ip.src.family === 4 ? EtherType.ipv4 : EtherType.ipv6, payload: encodeIp(content.ip) };
    case 'udp': {
      const { ip, udp } = content;
      const payload = encodeIp({ ...ip, protocol: IpProtocol.udp, payload: encodeUdp(udp, ip.src, ip.dst) });
      return { etherType: ip.src.family === 4 ? EtherType.ipv4 : EtherType.ipv6, payload };
    }
  }
}

export function encodeFrame(spec: FrameSpec): Buffer {
  return encodeEthernet({ dst: spec.dst, src: spec.src, ...encodeContent(spec.content) });
}

/** The payload of the outer UDP datagram that carries `spec` across VXLAN segment `vni`. */
export function encodeVxlanFrame(vni: number, spec: FrameSpec): Buffer {
  return encodeVxlan(vni, encodeFrame(spec));
}

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
