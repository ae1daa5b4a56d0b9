// The VXLAN header (RFC 7348 §5): flags with the I bit (a valid VNI follows), 24 reserved bits, the
// 24-bit VNI, 8 reserved bits. The outer UDP destination port is IANA's 4789 unless configured.
import { FrameError, need, view } from './frame-error.ts';

export const vxlanHeaderLength = 8;
export const ianaVxlanPort = 4789;
const flagI = 0x08;

export function checkVni(vni: number): number {
  if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new FrameError('vxlan', `VNI ${vni} is not a 24-bit number`);
  return vni;
}

/** The header followed by the inner Ethernet frame: the payload of the outer UDP datagram. */
export function encodeVxlan(vni: number, innerFrame: Uint8Array): Buffer {
  const out = Buffer.alloc(vxlanHeaderLength + innerFrame.length);
  out[0] = flagI;
  out.writeUInt32BE(checkVni(vni) << 8, 4);
  out.set(innerFrame, vxlanHeaderLength);
  return out;
}

export interface DecodedVxlan {
  readonly vni: number;
  readonly innerFrame: Uint8Array;
}

export function decodeVxlan(bytes: Uint8Array): DecodedVxlan {
  need('vxlan', bytes, vxlanHeaderLength, 'a VXLAN header');
  // RFC 7348: receivers ignore the reserved bits but the I flag must be set.
  if ((bytes[0]! & flagI) === 0) throw new FrameError('vxlan', 'the I flag is clear: no valid VNI');
  return { vni: view(bytes).getUint32(4) >>> 8, innerFrame: bytes.subarray(vxlanHeaderLength) };
}
