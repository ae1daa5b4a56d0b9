// weft's VXLAN frame codec (RFC 7348): the VXLAN header and the frames it carries — Ethernet, ARP, IPv4
// (header checksum), IPv6, UDP (checksum over the pseudo header) — encoded and decoded as typed values.
// Whole frames decoded, and pcap capture files, are for tests reading what crossed an underlay:
// testing/frame-decoder.ts and testing/pcap.ts.
//
//   const payload = encodeVxlanFrame(1, { dst: peerMac, src: ownMac, content: { kind: 'udp',
//     ip: { src: parseIp('10.244.1.0'), dst: parseIp('10.244.2.0') }, udp: { srcPort, dstPort, payload } } });
//   socket.send(payload, 4789, '192.0.2.2');          // the peer's kernel decapsulates it
//
// Malformed input throws FrameError { layer, problem }. UDP checksums are reported, not enforced
// (`checksum: 'valid' | 'absent' | 'invalid'`): captures hold packets whose checksum a NIC was to fill in.
export { decodeArp, encodeArp, type ArpOperation, type ArpPacket } from './arp.ts';
export { decodeEthernet, encodeEthernet, EtherType, type EthernetFrame } from './ethernet.ts';
export { encodeFrame, encodeVxlanFrame, type FrameContent, type FrameSpec, type IpHeaderFields } from './frame.ts';
export { FrameError, type FrameLayer } from './frame-error.ts';
export { decodeIp, encodeIp, IpProtocol, type DecodedIp, type IpPacket } from './ip-packet.ts';
export { decodeUdp, encodeUdp, type ChecksumStatus, type DecodedUdp, type UdpDatagram } from './udp.ts';
export { decodeVxlan, encodeVxlan, ianaVxlanPort, vxlanHeaderLength, type DecodedVxlan } from './vxlan-header.ts';
