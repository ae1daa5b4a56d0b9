import { describe, expect, it } from 'vitest';
import { parseIp } from '../../lib/ip/address.ts';
import { decodeProbe, encodeProbe, verdict } from './probe-message.ts';
import type { ProbePath } from '../../lib/weftd-api/node-status.ts';

describe('probe messages', () => {
  it('round-trips requests and replies', () => {
    const request = { op: 'request', path: 'vtep', seq: 7, nodeName: 'node-a', publicIp: parseIp('192.0.2.1'), vtepMac: '02:00:00:00:00:01' } as const;
    expect(decodeProbe(encodeProbe(request))).toEqual(request);
    const reply = { op: 'reply', path: 'kernel6', seq: 8, nodeName: 'node-b' } as const;
    expect(decodeProbe(encodeProbe(reply))).toEqual(reply);
  });

  it.each([
    ['not JSON', 'hello'],
    ['another tag', '{"tag":"x","op":"reply","path":"kernel","seq":1,"node":"a"}'],
    ['an unknown path', '{"tag":"weft-probe/1","op":"reply","path":"tcp","seq":1,"node":"a"}'],
    ['a fractional seq', '{"tag":"weft-probe/1","op":"reply","path":"kernel","seq":1.5,"node":"a"}'],
    ['an empty node name', '{"tag":"weft-probe/1","op":"reply","path":"kernel","seq":1,"node":""}'],
    ['a request without its sender', '{"tag":"weft-probe/1","op":"request","path":"kernel","seq":1,"node":"a"}'],
    ['a request with a bad MAC', '{"tag":"weft-probe/1","op":"request","path":"kernel","seq":1,"node":"a","publicIp":"192.0.2.1","vtepMac":"02:00"}'],
    ['a request with a bad address', '{"tag":"weft-probe/1","op":"request","path":"kernel","seq":1,"node":"a","publicIp":"x","vtepMac":"02:00:00:00:00:01"}'],
    ['JSON null', 'null'],
    ['an oversized datagram', `{"tag":"weft-probe/1","pad":"${'x'.repeat(600)}"}`],
  ])('ignores %s', (_what, text) => {
    expect(decodeProbe(Buffer.from(text))).toBeUndefined();
  });
});

describe('verdict', () => {
  it.each([
    [['kernel', 'vtep', 'underlay'], 'healthy'],
    [['kernel'], 'healthy'],
    [['vtep', 'underlay'], 'local-entry'],
    [['underlay'], 'vtep'],
    [[], 'underlay'],
  ] as Array<[ProbePath[], string]>)('answered %j → %s', (paths, expected) => {
    expect(verdict(new Set(paths))).toBe(expected);
  });
});
