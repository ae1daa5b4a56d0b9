import { describe, expect, it } from 'vitest';
import { FrameError } from '../frame-error.ts';
import { linkTypeEthernet, readPcap } from './pcap.ts';

function capture(littleEndian: boolean, nano: boolean, packets: Buffer[]): Buffer {
  const w32 = (b: Buffer, v: number, at: number) => (littleEndian ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const header = Buffer.alloc(24);
  w32(header, nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w32(header, 65535, 16);
  w32(header, linkTypeEthernet, 20);
  const records = packets.map((p, i) => {
    const h = Buffer.alloc(16);
    w32(h, 1_700_000_000 + i, 0);
    w32(h, nano ? 2_000 : 2, 4);
    w32(h, p.length, 8);
    w32(h, p.length + 100, 12);
    return Buffer.concat([h, p]);
  });
  return Buffer.concat([header, ...records]);
}

describe('readPcap', () => {
  it.each([
    [true, false],
    [false, false],
    [true, true],
  ])('reads records (little-endian %s, nanoseconds %s)', (little, nano) => {
    const c = readPcap(capture(little, nano, [Buffer.from('abc'), Buffer.from('de')]));
    expect(c.linkType).toBe(linkTypeEthernet);
    expect(c.records.map((r) => Buffer.from(r.data).toString())).toEqual(['abc', 'de']);
    expect(c.records[1]).toMatchObject({ timeMicros: 1_700_000_001 * 1e6 + 2, originalLength: 102 });
  });

  it('leaves out a record cut short by a capture still being written', () => {
    const whole = capture(true, false, [Buffer.from('abc'), Buffer.from('defg')]);
    expect(readPcap(whole.subarray(0, whole.length - 2)).records).toHaveLength(1);
  });

  it('refuses what is not pcap', () => {
    expect(() => readPcap(Buffer.alloc(24))).toThrow(FrameError);
    expect(() => readPcap(Buffer.alloc(3))).toThrow(/global header/);
  });
});
