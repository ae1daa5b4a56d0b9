// Whole frames: an Ethernet frame and what it carries (ARP, or IP and UDP), and VXLAN's nesting of one
// frame inside another's UDP, built from the inside out (testing/frame-decoder.ts peels one for tests).
import { encodeArp, type ArpPacket } from './arp.ts';
import { encodeEthernet, EtherType } from './ethernet.ts';
import { encodeIp, IpProtocol, type IpPacket } from './ip-packet.ts';
import { encodeUdp, type UdpDatagram } from './udp.ts';
import { encodeVxlan } from './vxlan-header.ts';

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
