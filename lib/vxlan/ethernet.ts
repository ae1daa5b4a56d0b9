// Ethernet II frames (IEEE 802.3 with an EtherType): destination and source MAC, type, payload. The
// frame check sequence is the NIC's business and never appears in captures or inside VXLAN.
import { formatMac, parseMac } from '../netlink/mac.ts';
import { FrameError, need, view } from './frame-error.ts';

export const EtherType = { ipv4: 0x0800, arp: 0x0806, ipv6: 0x86dd } as const;

export const ethernetHeaderLength = 14;

export interface EthernetFrame {
  readonly dst: string;
  readonly src: string;
  readonly etherType: number;
  readonly payload: Uint8Array;
}

export function encodeEthernet(frame: EthernetFrame): Buffer {
  const out = Buffer.allocUnsafe(ethernetHeaderLength + frame.payload.length);
  parseMac(frame.dst).copy(out, 0);
  parseMac(frame.src).copy(out, 6);
  out.writeUInt16BE(frame.etherType, 12);
  out.set(frame.payload, ethernetHeaderLength);
  return out;
}

export function decodeEthernet(bytes: Uint8Array): EthernetFrame {
  need('ethernet', bytes, ethernetHeaderLength, 'an Ethernet header');
  const etherType = view(bytes).getUint16(12);
  // Below 0x0600 the field is an 802.3 length, not a type: no EtherType to dispatch on.
  if (etherType < 0x0600) throw new FrameError('ethernet', `length field ${etherType} instead of an EtherType (802.3 frame)`);
  return {
    dst: formatMac(bytes.subarray(0, 6)),
    src: formatMac(bytes.subarray(6, 12)),
    etherType,
    payload: bytes.subarray(ethernetHeaderLength),
  };
}
