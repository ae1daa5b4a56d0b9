// ARP for IPv4 over Ethernet (RFC 826): the only combination an overlay carries.
import { ipFromBytes, ipToBytes, type IpAddress } from '../ip/address.ts';
import { formatMac, parseMac } from '../netlink/mac.ts';
import { EtherType } from './ethernet.ts';
import { FrameError, need, view } from './frame-error.ts';

export const arpLength = 28;
const hardwareEthernet = 1;
const operations = { request: 1, reply: 2 } as const;
export type ArpOperation = keyof typeof operations;

export interface ArpPacket {
  readonly operation: ArpOperation;
  readonly senderMac: string;
  readonly senderIp: IpAddress;
  /** All zeros in a request. */
  readonly targetMac: string;
  readonly targetIp: IpAddress;
}

function v4Bytes(ip: IpAddress, field: string): Uint8Array {
  if (ip.family !== 4) throw new FrameError('arp', `${field} must be an IPv4 address`);
  return ipToBytes(ip);
}

export function encodeArp(p: ArpPacket): Buffer {
  const out = Buffer.allocUnsafe(arpLength);
  out.writeUInt16BE(hardwareEthernet, 0);
  out.writeUInt16BE(EtherType.ipv4, 2);
  out[4] = 6;
  out[5] = 4;
  out.writeUInt16BE(operations[p.operation], 6);
  parseMac(p.senderMac).copy(out, 8);
  out.set(v4Bytes(p.senderIp, 'sender address'), 14);
  parseMac(p.targetMac).copy(out, 18);
  out.set(v4Bytes(p.targetIp, 'target address'), 24);
  return out;
}

export function decodeArp(bytes: Uint8Array): ArpPacket {
  need('arp', bytes, arpLength, 'an Ethernet/IPv4 ARP packet');
  const v = view(bytes);
  const htype = v.getUint16(0);
  const ptype = v.getUint16(2);
  if (htype !== hardwareEthernet || ptype !== EtherType.ipv4 || bytes[4] !== 6 || bytes[5] !== 4) {
    throw new FrameError('arp', `not Ethernet/IPv4 ARP (hardware ${htype}, protocol 0x${ptype.toString(16)}, lengths ${bytes[4]}/${bytes[5]})`);
  }
  const code = v.getUint16(6);
  const operation = (Object.keys(operations) as ArpOperation[]).find((op) => operations[op] === code);
  if (!operation) throw new FrameError('arp', `unknown operation ${code}`);
  return {
    operation,
    senderMac: formatMac(bytes.subarray(8, 14)),
    senderIp: ipFromBytes(bytes.subarray(14, 18)),
    targetMac: formatMac(bytes.subarray(18, 24)),
    targetIp: ipFromBytes(bytes.subarray(24, 28)),
  };
}
