import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { gatewayConflicts, randomMac } from './bridge-device.ts';

const nets = (...cidrs: string[]) => cidrs.map(parseCidr);

describe('gateway address conflicts', () => {
  it('finds the gateway already present (address and prefix)', () => {
    expect(gatewayConflicts(nets('10.1.0.1/24', 'fe80::1/64'), parseCidr('10.1.0.1/24'))).toBe('present');
    expect(gatewayConflicts(nets('10.1.0.1/16'), parseCidr('10.1.0.1/24'))).toEqual(nets('10.1.0.1/16'));
  });

  it('lets one IPv4 gateway stand on a bridge: any other IPv4 address is in the way', () => {
    expect(gatewayConflicts(nets('192.168.9.1/24', 'fd00::1/64'), parseCidr('10.1.0.1/24'))).toEqual(nets('192.168.9.1/24'));
  });

  it('lets IPv6 gateways of separate subnets share the bridge, but not overlapping ones', () => {
    expect(gatewayConflicts(nets('fd00:1::1/64', 'fe80::1/64'), parseCidr('fd00:2::1/64'))).toEqual([]);
    expect(gatewayConflicts(nets('fd00::1/48'), parseCidr('fd00:0:0:1::1/64'))).toEqual(nets('fd00::1/48'));
    expect(gatewayConflicts(nets('fd00:0:0:1::1/64'), parseCidr('fd00::1/48'))).toEqual(nets('fd00:0:0:1::1/64'));
  });
});

describe('random MAC', () => {
  it('is unicast and locally administered', () => {
    for (let i = 0; i < 50; i++) {
      const first = parseInt(randomMac().slice(0, 2), 16);
      expect(first & 1).toBe(0);
      expect(first & 2).toBe(2);
    }
    expect(randomMac()).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });
});
