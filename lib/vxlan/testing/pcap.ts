// Capture files in the classic pcap format (what `tcpdump -w` writes): a global header, then one record
// per packet. Both byte orders and both timestamp resolutions are read; only Ethernet captures are useful
// to decodeFrame, so the link type is reported for the caller to check.
import { FrameError, need, view } from '../frame-error.ts';

export const linkTypeEthernet = 1;
const globalHeaderLength = 24;
const recordHeaderLength = 16;
const magicMicro = 0xa1b2c3d4;
const magicNano = 0xa1b23c4d;

export interface CaptureRecord {
  /** Capture time in microseconds since the epoch. */
  readonly timeMicros: number;
  /** The bytes captured (may be fewer than the packet's length when a snap length cut it). */
  readonly data: Uint8Array;
  readonly originalLength: number;
}

export interface Capture {
  readonly linkType: number;
  readonly records: readonly CaptureRecord[];
}

/** Reads a whole capture; a record cut short at the end (a capture still being written) is left out. */
export function readPcap(bytes: Uint8Array): Capture {
  need('pcap', bytes, globalHeaderLength, 'a pcap global header');
  const v = view(bytes);
  let little: boolean;
  if (v.getUint32(0, true) === magicMicro || v.getUint32(0, true) === magicNano) little = true;
  else if (v.getUint32(0, false) === magicMicro || v.getUint32(0, false) === magicNano) little = false;
  else throw new FrameError('pcap', `magic 0x${v.getUint32(0).toString(16)} is not pcap's (pcapng is not read)`);
  const nano = v.getUint32(0, little) === magicNano;
  const linkType = v.getUint32(20, little) & 0x0fffffff;
  const records: CaptureRecord[] = [];
  let at = globalHeaderLength;
  while (at + recordHeaderLength <= bytes.length) {
    const seconds = v.getUint32(at, little);
    const fraction = v.getUint32(at + 4, little);
    const captured = v.getUint32(at + 8, little);
    const originalLength = v.getUint32(at + 12, little);
    const start = at + recordHeaderLength;
    if (start + captured > bytes.length) break;
    records.push({
      timeMicros: seconds * 1e6 + (nano ? Math.floor(fraction / 1000) : fraction),
      data: bytes.subarray(start, start + captured),
      originalLength,
    });
    at = start + captured;
  }
  return { linkType, records };
}
