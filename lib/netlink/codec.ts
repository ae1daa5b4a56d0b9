// Netlink message framing: a writer for one request (header, family struct, attributes, nesting) and
// readers for the kernel's replies. Netlink integers are in host byte order, except where a
// protocol says network order (ports), which has its own methods.
import { NLM_F_REQUEST } from './rtnetlink.ts';

// Host byte order, without loading node:os (several ms on a cold start).
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const NLMSG_HDRLEN = 16;
const NLA_HDRLEN = 4;
const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

const align4 = (n: number): number => (n + 3) & ~3;

/** Builds one netlink message; the sequence number is stamped by the socket when it is sent. */
export class MessageWriter {
  // allocUnsafe takes small buffers from Node's pool (far less garbage than one ArrayBuffer each);
  // every byte of the message is written explicitly, padding included.
  private buf = Buffer.allocUnsafe(128);
  private len = NLMSG_HDRLEN;

  constructor(type: number, flags: number) {
    this.put32(0, 0); // length, filled in by finish()
    this.put16(type, 4);
    this.put16(flags | NLM_F_REQUEST, 6);
    this.put32(0, 8); // sequence, stamped by the socket
    this.put32(0, 12); // port id: 0 addresses the kernel
  }

  // Struct fields (the family header at the start of the payload).
  u8(v: number): this {
    this.reserve(1).writeUInt8(v, this.len++);
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.put16(v, this.len);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.put32(v, this.len);
    this.len += 4;
    return this;
  }

  i32(v: number): this {
    this.reserve(4);
    if (LE) this.buf.writeInt32LE(v, this.len);
    else this.buf.writeInt32BE(v, this.len);
    this.len += 4;
    return this;
  }

  // Attributes.
  attrU8(type: number, v: number): this {
    return this.attr(type, 1, (at) => this.buf.writeUInt8(v, at));
  }

  attrU16(type: number, v: number): this {
    return this.attr(type, 2, (at) => this.put16(v, at));
  }

  attrU32(type: number, v: number): this {
    return this.attr(type, 4, (at) => this.put32(v, at));
  }

  /** A 16-bit value in network byte order (UDP ports, ethertypes). */
  attrBe16(type: number, v: number): this {
    return this.attr(type, 2, (at) => this.buf.writeUInt16BE(v, at));
  }

  /** A 32-bit value in network byte order (every integer of nf_tables). */
  attrBe32(type: number, v: number): this {
    return this.attr(type, 4, (at) => this.buf.writeUInt32BE(v >>> 0, at));
  }

  attrBytes(type: number, bytes: Uint8Array): this {
    return this.attr(type, bytes.length, (at) => this.buf.set(bytes, at));
  }

  /** A NUL-terminated string; one holding a NUL is refused, as the kernel would read only what comes before it. */
  attrString(type: number, s: string): this {
    if (s.includes('\0')) throw new TypeError(`netlink string attribute ${type} holds a NUL byte: ${JSON.stringify(s)}`);
    const bytes = Buffer.from(s, 'utf8');
    return this.attr(type, bytes.length + 1, (at) => {
      this.buf.set(bytes, at);
      this.buf[at + bytes.length] = 0;
    });
  }

  /** A present-or-absent flag attribute (no payload). */
  attrFlag(type: number): this {
    return this.attr(type, 0, () => undefined);
  }

  /** A nested attribute whose contents `fill` writes. `nested: false` for struct-led payloads (veth peer). */
  nest(type: number, fill: () => void, nested = true): this {
    const start = this.len;
    this.reserve(NLA_HDRLEN);
    this.put16(nested ? type | NLA_F_NESTED : type, start + 2);
    this.len += NLA_HDRLEN;
    fill();
    // Like any attribute: the length counts the contents, the padding after it does not.
    this.put16(this.len - start, start);
    const end = align4(this.len);
    this.buf.fill(0, this.len, end);
    this.len = end;
    return this;
  }

  /** The finished message (header length filled in). */
  finish(): Buffer {
    this.put32(this.len, 0);
    return this.buf.subarray(0, this.len);
  }

  private attr(type: number, payload: number, write: (at: number) => void): this {
    const total = align4(NLA_HDRLEN + payload);
    this.reserve(total);
    this.buf.fill(0, this.len, this.len + total);
    this.put16(NLA_HDRLEN + payload, this.len);
    this.put16(type, this.len + 2);
    write(this.len + NLA_HDRLEN);
    this.len += total;
    return this;
  }

  private reserve(n: number): Buffer {
    if (this.len + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    return this.buf;
  }

  private put16(v: number, at: number): void {
    if (LE) this.buf.writeUInt16LE(v, at);
    else this.buf.writeUInt16BE(v, at);
  }

  private put32(v: number, at: number): void {
    if (LE) this.buf.writeUInt32LE(v >>> 0, at);
    else this.buf.writeUInt32BE(v >>> 0, at);
  }
}

export function setSequence(message: Buffer, seq: number): void {
  if (LE) message.writeUInt32LE(seq >>> 0, 8);
  else message.writeUInt32BE(seq >>> 0, 8);
}

// ---- reading ------------------------------------------------------------------------------------

export function readU16(buf: Buffer, at: number): number {
  return LE ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
}

export function readU32(buf: Buffer, at: number): number {
  return LE ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
}

export function readI32(buf: Buffer, at: number): number {
  return LE ? buf.readInt32LE(at) : buf.readInt32BE(at);
}

export interface Message {
  readonly type: number;
  readonly flags: number;
  /** The payload after the netlink header: family struct, then attributes. */
  readonly body: Buffer;
}

/** Splits a run of messages (what a request returned) into its messages. */
export function splitMessages(data: Buffer | undefined): Message[] {
  const out: Message[] = [];
  if (!data) return out;
  for (let at = 0; at + NLMSG_HDRLEN <= data.length; ) {
    const len = readU32(data, at);
    if (len < NLMSG_HDRLEN || at + len > data.length) throw new RangeError(`malformed netlink message at offset ${at}`);
    out.push({ type: readU16(data, at + 4), flags: readU16(data, at + 6), body: data.subarray(at + NLMSG_HDRLEN, at + len) });
    at += align4(len);
  }
  return out;
}

/** Every attribute in `buf` from `offset`, in order (types masked of their flags). */
export function attrEntries(buf: Buffer, offset = 0): Array<[type: number, payload: Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (let at = offset; at + NLA_HDRLEN <= buf.length; ) {
    const len = readU16(buf, at);
    if (len < NLA_HDRLEN || at + len > buf.length) break;
    out.push([readU16(buf, at + 2) & NLA_TYPE_MASK, buf.subarray(at + NLA_HDRLEN, at + len)]);
    at += align4(len);
  }
  return out;
}

/** Attributes by type (the last one wins), with typed getters. */
export class Attrs {
  private readonly map: Map<number, Buffer>;

  constructor(buf: Buffer, offset = 0) {
    this.map = new Map(attrEntries(buf, offset));
  }

  has(type: number): boolean {
    return this.map.has(type);
  }

  bytes(type: number): Buffer | undefined {
    return this.map.get(type);
  }

  u8(type: number): number | undefined {
    const b = this.map.get(type);
    return b && b.length >= 1 ? b[0] : undefined;
  }

  u16(type: number): number | undefined {
    const b = this.map.get(type);
    return b && b.length >= 2 ? readU16(b, 0) : undefined;
  }

  u32(type: number): number | undefined {
    const b = this.map.get(type);
    return b && b.length >= 4 ? readU32(b, 0) : undefined;
  }

  be16(type: number): number | undefined {
    const b = this.map.get(type);
    return b && b.length >= 2 ? b.readUInt16BE(0) : undefined;
  }

  /** A 32-bit value in network byte order (nf_tables); `signed` for priorities. */
  be32(type: number, signed = false): number | undefined {
    const b = this.map.get(type);
    if (!b || b.length < 4) return undefined;
    return signed ? b.readInt32BE(0) : b.readUInt32BE(0);
  }

  /** A 64-bit value in network byte order (nf_tables handles). */
  be64(type: number): bigint | undefined {
    const b = this.map.get(type);
    return b && b.length >= 8 ? b.readBigUInt64BE(0) : undefined;
  }

  bool(type: number): boolean | undefined {
    const v = this.u8(type);
    return v === undefined ? undefined : v !== 0;
  }

  string(type: number): string | undefined {
    const b = this.map.get(type);
    if (!b) return undefined;
    const nul = b.indexOf(0);
    return b.toString('utf8', 0, nul < 0 ? b.length : nul);
  }

  nested(type: number): Attrs | undefined {
    const b = this.map.get(type);
    return b ? new Attrs(b) : undefined;
  }
}
