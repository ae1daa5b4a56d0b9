import { describe, expect, it } from 'vitest';
import { parseCidr } from '../ip/cidr.ts';
import { containerMasqueradeRules } from './masquerade.ts';

describe('containerMasqueradeRules', () => {
  it('masquerades each address to anything outside its subnet but multicast', () => {
    expect(containerMasqueradeRules([parseCidr('10.199.0.5/24'), parseCidr('fd00:199::5/64')])).toEqual([
      'ip saddr 10.199.0.5 ip daddr != 10.199.0.0/24 ip daddr != 224.0.0.0/4 masquerade',
      'ip6 saddr fd00:199::5 ip6 daddr != fd00:199::/64 ip6 daddr != ff00::/8 masquerade',
    ]);
  });

  it('has no rules for no addresses', () => {
    expect(containerMasqueradeRules([])).toEqual([]);
  });
});
