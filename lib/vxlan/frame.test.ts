// Known byte vectors. Each encoded frame below was written to a pcap file and read back with
// `tcpdump -vvv -e -r`, which verified every IPv4 header checksum and UDP checksum ("udp sum ok")
// and decoded the VXLAN header (flags [I], vni 1193046) independently of this codec.
import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../ip/address.ts';
import type { ArpPacket } from './arp.ts';
import { internetChecksum } from './checksum.ts';
import { encodeFrame, encodeVxlanFrame, type FrameSpec } from './frame.ts';
import { decodeFrame, decodeVxlanPayload } from './testing/frame-decoder.ts';
import { FrameError } from './frame-error.ts';
import { decodeUdp, encodeUdp } from './udp.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const payload = Buffer.from('weft probe');

const udp4Spec: FrameSpec = {
  dst: '02:00:00:00:00:02',
  src: '02:00:00:00:00:01',
  content: {
    kind: 'udp',
    ip: { src: parseIp('10.244.1.0'), dst: parseIp('10.244.2.0'), id: 0x1234 },
    udp: { srcPort: 40000, dstPort: 4799, payload },
  },
};
const udp4Bytes = hex(`
  020000000002 020000000001 0800
  4500 0026 1234 4000 4011 0fac 0af40100 0af40200
  9c40 12bf 0012 64c4 776566742070726f6265`);

const udp6Spec: FrameSpec = {
  dst: '02:00:00:00:00:02',
  src: '02:00:00:00:00:01',
  content: {
    kind: 'udp',
    ip: { src: parseIp('fd00:244:1::'), dst: parseIp('fd00:244:2::'), flowLabel: 0x12345 },
    udp: { srcPort: 40000, dstPort: 4799, payload },
  },
};
const udp6Bytes = hex(`
  020000000002 020000000001 86dd
  60012345 0012 11 40 fd000244000100000000000000000000 fd000244000200000000000000000000
  9c40 12bf 0012 7f1f 776566742070726f6265`);

const arpRequest: ArpPacket = {
  operation: 'request', senderMac: '02:00:00:00:00:01', senderIp: parseIp('10.244.1.0'), targetMac: '00:00:00:00:00:00', targetIp: parseIp('10.244.2.0'),
};
const arpSpec: FrameSpec = { dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', content: { kind: 'arp', arp: arpRequest } };
const arpBytes = hex('ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 0af40100 000000000000 0af40200');

// An underlay frame: 192.0.2.1 → 192.0.2.2 UDP 50000 → 4789, VNI 0x123456, carrying UDP 4799 → 4799 "hi".
const innerSpec: FrameSpec = {
  dst: '02:00:00:00:00:02',
  src: '02:00:00:00:00:01',
  content: { kind: 'udp', ip: { src: parseIp('10.244.1.0'), dst: parseIp('10.244.2.0') }, udp: { srcPort: 4799, dstPort: 4799, payload: Buffer.from('hi') } },
};
const vxlanPayloadBytes = hex(`
  08000000 12345600
  020000000002 020000000001 0800
  4500 001e 0000 4000 4011 21e8 0af40100 0af40200
  12bf 12bf 000a 590b 6869`);
const underlayBytes = hex(`
  0a0000000002 0a0000000001 0800
  4500 0050 0000 4000 4011 b699 c0000201 c0000202
  c350 12b5 003c 4238`);

describe('encoding', () => {
  it('writes UDP in IPv4 with the header and UDP checksums', () => {
    expect(encodeFrame(udp4Spec).toString('hex')).toBe(udp4Bytes.toString('hex'));
  });

  it('writes UDP in IPv6 with the flow label and the mandatory checksum', () => {
    expect(encodeFrame(udp6Spec).toString('hex')).toBe(udp6Bytes.toString('hex'));
  });

  it('writes an ARP request', () => {
    expect(encodeFrame(arpSpec).toString('hex')).toBe(arpBytes.toString('hex'));
  });

  it('writes the VXLAN header with the I flag and the VNI, then the inner frame', () => {
    const vx = encodeVxlanFrame(0x123456, innerSpec);
    expect(vx.toString('hex')).toBe(vxlanPayloadBytes.toString('hex'));
    const outer = encodeFrame({
      dst: '0a:00:00:00:00:02',
      src: '0a:00:00:00:00:01',
      content: { kind: 'udp', ip: { src: parseIp('192.0.2.1'), dst: parseIp('192.0.2.2') }, udp: { srcPort: 50000, dstPort: 4789, payload: vx } },
    });
    expect(outer.toString('hex')).toBe(Buffer.concat([underlayBytes, vxlanPayloadBytes]).toString('hex'));
  });

  it('matches the IPv4 header checksum of the classic worked example (0xb861)', () => {
    const frame = encodeFrame({
      dst: '00:00:00:00:00:00',
      src: '00:00:00:00:00:00',
      content: { kind: 'ip', ip: { src: parseIp('192.168.0.1'), dst: parseIp('192.168.0.199'), protocol: 17, payload: Buffer.alloc(0x73 - 20) } },
    });
    expect(frame.subarray(14, 34).toString('hex')).toBe(hex('4500 0073 0000 4000 4011 b861 c0a80001 c0a800c7').toString('hex'));
  });

  it('sends a computed zero UDP checksum as 0xffff', () => {
    // Find a payload whose checksum comes to zero by adjusting its last word.
    const src = parseIp('10.0.0.1');
    const dst = parseIp('10.0.0.2');
    const body = Buffer.alloc(2);
    const first = encodeUdp({ srcPort: 1, dstPort: 2, payload: body }, src, dst).readUInt16BE(6);
    body.writeUInt16BE(first, 0);
    const datagram = encodeUdp({ srcPort: 1, dstPort: 2, payload: body }, src, dst);
    expect(datagram.readUInt16BE(6)).toBe(0xffff);
    expect(decodeUdp(datagram, src, dst).checksum).toBe('valid');
  });

  it('refuses what the wire cannot carry', () => {
    expect(() => encodeVxlanFrame(1 << 24, innerSpec)).toThrow(FrameError);
    expect(() => encodeUdp({ srcPort: 70000, dstPort: 1, payload }, parseIp('10.0.0.1'), parseIp('10.0.0.2'))).toThrow(/source port/);
    expect(() => encodeUdp({ srcPort: 1, dstPort: 1, payload }, parseIp('::1'), parseIp('::2'), { noChecksum: true })).toThrow(/IPv6 requires/);
    expect(() => encodeFrame({ ...udp4Spec, content: { kind: 'udp', ip: { src: parseIp('10.0.0.1'), dst: parseIp('::1') }, udp: { srcPort: 1, dstPort: 1, payload } } }))
      .toThrow(/different families/);
    expect(() => encodeFrame({ ...arpSpec, content: { kind: 'arp', arp: { ...arpRequest, senderIp: parseIp('::1') } } })).toThrow(/IPv4/);
  });
});

describe('decoding', () => {
  it('reads UDP in IPv4 back with a valid checksum', () => {
    const f = decodeFrame(udp4Bytes);
    expect(f.ethernet).toMatchObject({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: 0x0800 });
    expect(f.ip).toMatchObject({ version: 4, protocol: 17, hopLimit: 64, id: 0x1234, dontFragment: true, fragment: false });
    expect(formatIp(f.ip!.src)).toBe('10.244.1.0');
    expect(formatIp(f.ip!.dst)).toBe('10.244.2.0');
    expect(f.udp).toMatchObject({ srcPort: 40000, dstPort: 4799, checksum: 'valid' });
    expect(Buffer.from(f.udp!.payload).toString()).toBe('weft probe');
    expect(f.vxlan).toBeUndefined();
  });

  it('reads UDP in IPv6 back', () => {
    const f = decodeFrame(udp6Bytes);
    expect(f.ip).toMatchObject({ version: 6, flowLabel: 0x12345, protocol: 17, hopLimit: 64 });
    expect(formatIp(f.ip!.dst)).toBe('fd00:244:2::');
    expect(f.udp?.checksum).toBe('valid');
  });

  it('reads ARP', () => {
    const f = decodeFrame(arpBytes);
    expect(f.arp?.operation).toBe('request');
    expect(formatIp(f.arp!.targetIp)).toBe('10.244.2.0');
    expect(f.arp?.senderMac).toBe('02:00:00:00:00:01');
  });

  it('follows UDP to a VXLAN port into the inner frame', () => {
    const f = decodeFrame(Buffer.concat([underlayBytes, vxlanPayloadBytes]));
    expect(f.udp).toMatchObject({ dstPort: 4789, checksum: 'valid' });
    expect(f.vxlan?.vni).toBe(0x123456);
    expect(f.vxlan?.inner.ethernet.dst).toBe('02:00:00:00:00:02');
    expect(formatIp(f.vxlan!.inner.ip!.dst)).toBe('10.244.2.0');
    expect(Buffer.from(f.vxlan!.inner.udp!.payload).toString()).toBe('hi');
    // Another port: plain UDP.
    expect(decodeFrame(Buffer.concat([underlayBytes, vxlanPayloadBytes]), { vxlanPorts: [8472] }).vxlan).toBeUndefined();
    expect(decodeVxlanPayload(vxlanPayloadBytes).inner.udp?.checksum).toBe('valid');
  });

  it('reports an absent IPv4 UDP checksum and a wrong one', () => {
    const absent = Buffer.from(udp4Bytes);
    absent.writeUInt16BE(0, 14 + 20 + 6);
    expect(decodeFrame(absent).udp?.checksum).toBe('absent');
    const wrong = Buffer.from(udp4Bytes);
    wrong[wrong.length - 1] ^= 1;
    expect(decodeFrame(wrong).udp?.checksum).toBe('invalid');
    const v6zero = Buffer.from(udp6Bytes);
    v6zero.writeUInt16BE(0, 14 + 40 + 6);
    expect(decodeFrame(v6zero).udp?.checksum).toBe('invalid');
  });

  it('ignores link-layer padding after the IP packet', () => {
    const padded = Buffer.concat([udp4Bytes, Buffer.alloc(12)]);
    expect(Buffer.from(decodeFrame(padded).udp!.payload).toString()).toBe('weft probe');
  });

  it('does not read a fragment as a datagram', () => {
    const fragment = Buffer.from(udp4Bytes);
    fragment.writeUInt16BE(0x2000, 14 + 6); // more fragments, offset 0
    fragment.writeUInt16BE(0, 14 + 10);
    fragment.writeUInt16BE(internetChecksum(fragment.subarray(14, 34)), 14 + 10);
    const f = decodeFrame(fragment);
    expect(f.ip).toMatchObject({ fragment: true });
    expect(f.udp).toBeUndefined();
  });

  it.each([
    ['a short Ethernet header', udp4Bytes.subarray(0, 10), 'ethernet'],
    ['an 802.3 length field', Buffer.concat([udp4Bytes.subarray(0, 12), hex('0026'), udp4Bytes.subarray(14)]), 'ethernet'],
    ['a wrong IPv4 header checksum', Buffer.concat([udp4Bytes.subarray(0, 24), hex('0000'), udp4Bytes.subarray(26)]), 'ipv4'],
    ['an IPv4 total length beyond the bytes', Buffer.concat([udp4Bytes.subarray(0, 16), hex('0fff'), udp4Bytes.subarray(18)]), 'ipv4'],
    ['an IPv6 packet under the IPv4 EtherType', Buffer.concat([udp4Bytes.subarray(0, 12), hex('0800'), udp6Bytes.subarray(14)]), 'ethernet'],
    ['a truncated IPv6 payload', udp6Bytes.subarray(0, udp6Bytes.length - 1), 'ipv6'],
    ['a truncated ARP packet', arpBytes.subarray(0, 30), 'arp'],
    ['a VXLAN header without the I flag', Buffer.concat([underlayBytes, hex('00'), vxlanPayloadBytes.subarray(1)]), 'vxlan'],
  ])('refuses %s', (_what, bytes, layer) => {
    let caught: unknown;
    try {
      decodeFrame(bytes);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as FrameError).layer).toBe(layer);
  });
});
