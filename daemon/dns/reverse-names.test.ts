import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { parseReverseName, reverseName, reverseZone } from './reverse-names.ts';

describe('reverse names', () => {
  it('names IPv4 and IPv6 addresses as PTR owners, and reads them back', () => {
    expect(reverseName(parseIp('10.244.3.5'))).toBe('5.3.244.10.in-addr.arpa');
    const v6 = reverseName(parseIp('fd00:10:244:3::5'));
    expect(v6).toBe('5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa');
    expect(formatIp(parseReverseName(v6)!)).toBe('fd00:10:244:3::5');
    expect(formatIp(parseReverseName('5.3.244.10.in-addr.arpa')!)).toBe('10.244.3.5');
  });

  it('reads nothing from partial or malformed names', () => {
    for (const name of ['3.244.10.in-addr.arpa', '256.3.244.10.in-addr.arpa', '05.3.244.10.in-addr.arpa', 'x.3.244.10.in-addr.arpa', 'in-addr.arpa', 'g.0.ip6.arpa', 'web.weft.internal']) {
      expect(parseReverseName(name), name).toBeUndefined();
    }
  });

  it('names the reverse zone of a network by its whole labels', () => {
    expect(reverseZone(parseCidr('10.244.0.0/16'))).toBe('244.10.in-addr.arpa');
    expect(reverseZone(parseCidr('10.244.0.0/20'))).toBe('244.10.in-addr.arpa');
    expect(reverseZone(parseCidr('fd00:10:244::/56'))).toBe('0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa');
  });
});
