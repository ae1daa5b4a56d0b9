import { describe, expect, it } from 'vitest';
import { formatMac, parseMac, zeroMac } from './mac.ts';

describe('MAC addresses', () => {
  it('parses the colon, dash and dotted forms in any case and formats lower case', () => {
    expect([...parseMac('02:AB:cd:00:0f:10')]).toEqual([2, 0xab, 0xcd, 0, 0x0f, 0x10]);
    expect(formatMac(parseMac('02-ab-CD-00-0F-10'))).toBe('02:ab:cd:00:0f:10');
    expect(formatMac(parseMac('0a58.0A62.00bb'))).toBe('0a:58:0a:62:00:bb');
    expect(formatMac(parseMac(zeroMac))).toBe('00:00:00:00:00:00');
  });

  it.each(['', '02:ab:cd:00:0f', '02:ab:cd:00:0f:10:11', '2:ab:cd:00:0f:10', 'zz:ab:cd:00:0f:10', '02abcd000f10', '02:ab-cd:00:0f:10', '0a58.0a62.00bb.0000', '0a.580a.6200bb'])('refuses %j', (text) => {
    expect(() => parseMac(text)).toThrow(TypeError);
  });
});
