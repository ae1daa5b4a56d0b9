import { describe, expect, it } from 'vitest';
import { leaseRecord, sortLeases, specFromRecord, subnetFromKey, subnetKey } from './lease.ts';

describe('subnet keys', () => {
  it('round-trips between CIDR and key', () => {
    expect(subnetKey('10.244.3.0/24')).toBe('10.244.3.0-24');
    expect(subnetFromKey('10.244.3.0-24')).toBe('10.244.3.0/24');
  });

  it.each(['10.244.3.0/24', '10.244.3.1-24', '10.244.3.0-33', '010.244.3.0-24', 'fd00::-64', '10.244.3.0-24&fd00::-64', ''])(
    'refuses %j', (key) => {
      expect(subnetFromKey(key)).toBeUndefined();
    },
  );
});

describe('records', () => {
  const spec = { subnet: '10.244.3.0/24', ipv6Subnet: 'fd00:10:244:3::/64', nodeName: 'a', publicIp: '192.0.2.7', vtepMac: '0a:11:22:33:44:55' };

  it('round-trips a spec through its stored record', () => {
    expect(specFromRecord('10.244.3.0-24', JSON.parse(JSON.stringify(leaseRecord(spec))))).toEqual(spec);
  });

  it('accepts an operator\'s reservation naming only the node', () => {
    expect(specFromRecord('10.244.3.0-24', { nodeName: 'a' })).toEqual({ subnet: '10.244.3.0/24', nodeName: 'a', publicIp: '', vtepMac: '' });
  });

  it('canonicalises addresses', () => {
    expect(specFromRecord('10.244.3.0-24', { nodeName: 'a', publicIp: '2001:DB8:0:0::1', ipv6Subnet: 'FD00::/64' }))
      .toMatchObject({ publicIp: '2001:db8::1', ipv6Subnet: 'fd00::/64' });
  });

  it.each<[unknown, RegExp]>([
    [null, /not a JSON object/],
    [{ publicIp: '192.0.2.1' }, /"nodeName" must be a non-empty string/],
    [{ nodeName: 'a', publicIp: '192.0.2' }, /"publicIp" must be an IP address/],
    [{ nodeName: 'a', vtepMac: '0A:11:22:33:44:55' }, /"vtepMac" must be a MAC/],
    [{ nodeName: 'a', ipv6Subnet: '10.0.0.0/24' }, /"ipv6Subnet" must be an IPv6 CIDR/],
  ])('says what is wrong with %j', (value, problem) => {
    expect(specFromRecord('10.244.3.0-24', value)).toMatch(problem);
  });
});

describe('sortLeases', () => {
  const lease = (subnet: string, nodeName: string) => ({ subnet, nodeName, publicIp: '', vtepMac: '' });

  it('orders by subnet address, not by text, and keeps equal keys in their order', () => {
    const input = [lease('10.244.10.0/24', 'c'), lease('10.244.9.0/24', 'b'), lease('10.244.9.0/25', 'b2'), lease('9.0.0.0/24', 'a')];
    expect(sortLeases(input).map((l) => l.nodeName)).toEqual(['a', 'b', 'b2', 'c']);
    expect(input.map((l) => l.nodeName)).toEqual(['c', 'b', 'b2', 'a']);
  });
});
