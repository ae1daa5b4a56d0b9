import { describe, expect, it } from 'vitest';
import { netContains, parseCidr } from '../../lib/ip/cidr.ts';
import { upstreamsFrom } from './upstreams.ts';

describe('upstreamsFrom', () => {
  it('takes the nameservers in order, at most three, never an address of the overlay', () => {
    const text = 'search corp.example\nnameserver 10.244.3.1\nnameserver 192.0.2.53\nnameserver FD00::53\nnameserver fe80::1%eth0\n'
      + 'nameserver 0.0.0.0\nnameserver 192.0.2.53\nnameserver 127.0.0.53\nnameserver 198.51.100.1\n';
    const overlay = parseCidr('10.244.0.0/16');
    expect(upstreamsFrom(`nameserver 10.244.7.1\n${text}`, (ip) => netContains(overlay, ip))).toEqual([
      { address: '192.0.2.53', port: 53 }, { address: 'fd00::53', port: 53 }, { address: '127.0.0.53', port: 53 },
    ]);
    expect(upstreamsFrom('# none\n', () => false)).toEqual([]);
  });
});
