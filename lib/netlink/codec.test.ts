import { describe, expect, it, vi } from 'vitest';
import { Attrs, MessageWriter, attrEntries, readU16, readU32, setSequence, splitMessages } from './codec.ts';

describe('MessageWriter', () => {
  it('writes the netlink header with NLM_F_REQUEST and the total length', () => {
    const m = new MessageWriter(16, 0x400).u32(7).finish();
    expect(m.length).toBe(20);
    expect(readU32(m, 0)).toBe(20);
    expect(readU16(m, 4)).toBe(16);
    expect(readU16(m, 6)).toBe(0x401);
    setSequence(m, 99);
    expect(readU32(m, 8)).toBe(99);
  });

  it('pads attributes to 4 bytes and records their unpadded length', () => {
    const m = new MessageWriter(1, 0).attrU8(3, 0xab).attrString(4, 'eth0').attrBe16(5, 4789).attrFlag(6).finish();
    const body = splitMessages(m)[0]!.body;
    expect(body.length).toBe(8 + 12 + 8 + 4);
    expect(readU16(body, 0)).toBe(5); // header + 1 byte
    expect(readU16(body, 8)).toBe(9); // header + "eth0\0"
    expect(body.subarray(12, 17).toString('latin1')).toBe('eth0\0');
    expect(body.readUInt16BE(24)).toBe(4789);
    const a = new Attrs(body);
    expect(a.u8(3)).toBe(0xab);
    expect(a.string(4)).toBe('eth0');
    expect(a.be16(5)).toBe(4789);
    expect(a.has(6)).toBe(true);
  });

  it('refuses a string holding a NUL, which the kernel would cut short', () => {
    expect(() => new MessageWriter(1, 0).attrString(3, 'hb\0br')).toThrow(/attribute 3 holds a NUL byte: "hb\\u0000br"/);
  });

  it('nests attributes, flagging them NLA_F_NESTED unless told not to', () => {
    const w = new MessageWriter(1, 0);
    w.nest(18, () => {
      w.attrString(1, 'vxlan');
      w.nest(2, () => w.attrU32(1, 42));
    });
    w.nest(1, () => w.u32(5), false);
    const body = splitMessages(w.finish())[0]!.body;
    expect(readU16(body, 2)).toBe(18 | 0x8000);
    const outer = new Attrs(body);
    expect(outer.nested(18)?.string(1)).toBe('vxlan');
    expect(outer.nested(18)?.nested(2)?.u32(1)).toBe(42);
    const plain = attrEntries(body).find(([type]) => type === 1)!;
    expect(readU16(body, readU16(body, 0) + 2)).toBe(1);
    expect(readU32(plain[1], 0)).toBe(5);
  });

  it('leaves no stray bytes in padding, whatever its memory held before', () => {
    // The writer takes uninitialised memory; hand it memory full of 0xff to see every byte is written.
    const dirty = vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((n: number) => Buffer.alloc(n, 0xff));
    try {
      const w = new MessageWriter(1, 0).u8(9).u8(0).u16(0);
      w.attrU8(1, 1);
      w.nest(2, () => w.u8(7), false);
      w.attrString(3, 'ab');
      const m = w.finish();
      const le = readU16(Buffer.from([1, 0]), 0) === 1;
      const header = le ? [44, 0, 0, 0, 1, 0, 1, 0] : [0, 0, 0, 44, 0, 1, 0, 1];
      const attr = (type: number, len: number) => (le ? [len, 0, type, 0] : [0, len, 0, type]);
      expect([...m]).toEqual([
        ...header, 0, 0, 0, 0, 0, 0, 0, 0,
        9, 0, 0, 0,
        ...attr(1, 5), 1, 0, 0, 0,
        ...attr(2, 5), 7, 0, 0, 0,
        ...attr(3, 7), 97, 98, 0, 0,
      ]);
    } finally {
      dirty.mockRestore();
    }
  });

  it('grows past its initial buffer', () => {
    const w = new MessageWriter(1, 0);
    for (let i = 0; i < 200; i++) w.attrU32(1, i);
    const body = splitMessages(w.finish())[0]!.body;
    expect(attrEntries(body).map(([, p]) => readU32(p, 0))).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});

describe('reading', () => {
  it('splits a run of messages', () => {
    const data = Buffer.concat([new MessageWriter(16, 0).u8(1).u8(2).u16(3).finish(), new MessageWriter(3, 2).u32(9).finish()]);
    const messages = splitMessages(data);
    expect(messages.map((m) => [m.type, m.flags & ~1, m.body.length])).toEqual([[16, 0, 4], [3, 2, 4]]);
    expect(splitMessages(undefined)).toEqual([]);
  });

  it('refuses a message whose length runs past the data', () => {
    const m = Buffer.from(new MessageWriter(16, 0).u32(1).finish());
    m.writeUInt32LE(64, 0);
    expect(() => splitMessages(m)).toThrow(RangeError);
  });

  it('stops at a truncated attribute and answers undefined for short payloads', () => {
    const body = splitMessages(new MessageWriter(1, 0).attrU8(1, 1).attrU8(2, 2).finish())[0]!.body;
    const cut = body.subarray(0, 10);
    expect(attrEntries(cut).map(([t]) => t)).toEqual([1]);
    const a = new Attrs(body);
    expect(a.u32(1)).toBeUndefined();
    expect(a.bool(2)).toBe(true);
    expect(a.bytes(9)).toBeUndefined();
  });
});
