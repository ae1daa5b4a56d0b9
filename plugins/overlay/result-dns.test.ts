import { describe, expect, it } from 'vitest';
import type { Result } from '../../lib/cni/types.ts';
import { lease } from './testing/fixtures.ts';
import { withWeftDns } from './result-dns.ts';

const result: Result = { cniVersion: '1.0.0', ips: [{ address: '10.244.3.2/24', gateway: '10.244.3.1' }], dns: { nameservers: ['192.0.2.53'], search: ['corp.example'], options: ['ndots:2'] } };

describe('withWeftDns', () => {
  it('leaves the result alone when weftd answers no DNS', () => {
    expect(withWeftDns(result, lease())).toBe(result);
  });

  it('names the gateways as nameservers and puts the zone first in the search list', () => {
    const text = 'WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_IPV6_NETWORK=fd00:10:244::/56\n'
      + 'WEFT_IPV6_SUBNET=fd00:10:244:3::1/64\nWEFT_MTU=1430\nWEFT_IPMASQ=true\nWEFT_DNS_DOMAIN=weft.internal\n';
    expect(withWeftDns(result, lease(text)).dns).toEqual({
      nameservers: ['10.244.3.1', 'fd00:10:244:3::1'], search: ['weft.internal', 'corp.example'], options: ['ndots:2'],
    });
  });
});
