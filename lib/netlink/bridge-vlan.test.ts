import { describe, expect, it } from 'vitest';
import { attrEntries, Attrs, readU16, splitMessages } from './codec.ts';
import { bridgeVlanRequest, decodeBridgeVlans } from './bridge-vlan.ts';
import type { Resolver } from './link.ts';

const resolver: Resolver = { index: () => 4, netnsFd: () => -1 };

describe('bridge VLANs', () => {
  it('adds a PVID/untagged VLAN to a port through AF_BRIDGE RTM_SETLINK', () => {
    const r = bridgeVlanRequest('add', 'veth1', { vid: 100, pvid: true, untagged: true }, resolver);
    const m = splitMessages(r.message)[0]!;
    expect([m.type, m.body[0]]).toEqual([19, 7]);
    const info = new Attrs(m.body, 16).nested(26)!.bytes(2)!;
    expect([readU16(info, 0), readU16(info, 2)]).toEqual([0x6, 100]);
    expect(r.operation()).toBe('add bridge vlan 100 pvid untagged on link veth1');
  });

  it('sends a range as a begin/end pair and the bridge itself with BRIDGE_FLAGS_SELF', () => {
    const m = splitMessages(bridgeVlanRequest('delete', 'br0', { vid: 10, vidEnd: 20, self: true }, resolver).message)[0]!;
    expect(m.type).toBe(17);
    const spec = new Attrs(m.body, 16).bytes(26)!;
    const entries = attrEntries(spec);
    expect(entries.map(([t]) => t)).toEqual([0, 2, 2]);
    expect(readU16(entries[0]![1], 0)).toBe(2);
    expect(entries.slice(1).map(([, p]) => [readU16(p, 0), readU16(p, 2)])).toEqual([[0x8, 10], [0x10, 20]]);
  });

  it('refuses VLAN ids outside 1-4094', () => {
    expect(() => bridgeVlanRequest('add', 1, { vid: 0 }, resolver)).toThrow(RangeError);
    expect(() => bridgeVlanRequest('add', 1, { vid: 5, vidEnd: 4095 }, resolver)).toThrow(RangeError);
  });

  it('decodes the VLAN list of a port', () => {
    const body = splitMessages(bridgeVlanRequest('add', 1, { vid: 30, untagged: true }, resolver).message)[0]!.body;
    expect(decodeBridgeVlans(body)).toEqual([{ link: 4, vid: 30, pvid: false, untagged: true }]);
  });
});
