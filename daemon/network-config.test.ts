import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import type { JsonValue } from '../lib/json/json-value.ts';
import { formatIp } from '../lib/ip/address.ts';
import { formatCidr, parseCidr } from '../lib/ip/cidr.ts';
import {
  networkConfigDifferences, networkConfigJson, overlayMtu, pairedIpv6Subnet, parseNetworkConfig, subnetAt, subnetCount,
  subnetIndex,
} from './network-config.ts';

function refusal(raw: JsonValue): CniError {
  try {
    parseNetworkConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(ErrorCode.InvalidNetworkConfig);
    return err as CniError;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('parseNetworkConfig defaults', () => {
  it('fills in flannel-like defaults for a /16', () => {
    const config = parseNetworkConfig({ network: '10.244.0.0/16' });
    expect(networkConfigJson(config)).toEqual({
      network: '10.244.0.0/16', subnetLen: 24, subnetMin: '10.244.1.0', subnetMax: '10.244.255.0',
      vni: 1, port: 4789, probePort: 4799, directRouting: false, ipMasq: true, ttl: 3600,
    });
    expect(subnetCount(config)).toBe(255);
    expect(config.domain).toBe('weft.internal');
  });

  it('keeps a domain, lowercase and without its trailing dot, and writes it out unless it is the default', () => {
    const config = parseNetworkConfig({ network: '10.244.0.0/16', domain: 'Cluster.Example.' });
    expect(config.domain).toBe('cluster.example');
    expect(networkConfigJson(config).domain).toBe('cluster.example');
    expect(parseNetworkConfig(networkConfigJson(config))).toEqual(config);
  });

  it('splits a small network into quarters and skips the first', () => {
    const config = parseNetworkConfig({ network: '10.0.0.0/26' });
    expect(config.subnetLen).toBe(28);
    expect(formatIp(config.subnetMin)).toBe('10.0.0.16');
    expect(formatIp(config.subnetMax)).toBe('10.0.0.48');
  });

  it('keeps explicit values', () => {
    const config = parseNetworkConfig({
      network: '10.244.0.0/16', subnetLen: 26, subnetMin: '10.244.8.0', subnetMax: '10.244.9.192', vni: 42, port: 8472,
      probePort: 4800, mtu: 1400, directRouting: true, ipMasq: false, ttl: 60, ipv6Network: 'fd00:10::/48', ipv6SubnetLen: 64,
    });
    expect(config).toMatchObject({ subnetLen: 26, vni: 42, port: 8472, probePort: 4800, mtu: 1400, directRouting: true, ipMasq: false, ttlSeconds: 60 });
    expect(subnetCount(config)).toBe(8);
    expect(formatCidr(config.ipv6!.network)).toBe('fd00:10::/48');
  });
});

describe('parseNetworkConfig refusals', () => {
  it.each<[string, JsonValue, RegExp]>([
    ['a missing network', {}, /missing "network"/],
    ['a non-object', [1], /must be an object/],
    ['an IPv6 network in "network"', { network: 'fd00::/48' }, /must be an IPv4 CIDR.*goes in "ipv6Network"/],
    ['host bits', { network: '10.244.1.0/16' }, /has host bits set: did you mean 10\.244\.0\.0\/16/],
    ['garbage', { network: '10.244.0.0' }, /must be a CIDR such as 10\.244\.0\.0\/16/],
    ['subnetLen not longer than the network', { network: '10.244.0.0/16', subnetLen: 16 }, /subnetLen" must be longer than the prefix of network 10\.244\.0\.0\/16 \(\/16\)/],
    ['subnetLen /31', { network: '10.244.0.0/16', subnetLen: 31 }, /must be at most 30/],
    ['a network too small to split', { network: '10.0.0.0/29' }, /too small to split/],
    ['subnetMin outside', { network: '10.244.0.0/16', subnetMin: '10.245.0.0' }, /"subnetMin" 10\.245\.0\.0 is outside network 10\.244\.0\.0\/16/],
    ['subnetMax unaligned', { network: '10.244.0.0/16', subnetMax: '10.244.7.9' }, /not the first address of a \/24 subnet \(10\.244\.7\.0 is\)/],
    ['subnetMin above subnetMax', { network: '10.244.0.0/16', subnetMin: '10.244.9.0', subnetMax: '10.244.3.0' }, /above "subnetMax"/],
    ['vni 0', { network: '10.244.0.0/16', vni: 0 }, /"vni" must be at least 1/],
    ['vni over 24 bits', { network: '10.244.0.0/16', vni: 2 ** 24 }, /"vni" must be at most 16777215/],
    ['port 0', { network: '10.244.0.0/16', port: 0 }, /"port" must be at least 1/],
    ['a probe port past 65535', { network: '10.244.0.0/16', probePort: 65536 }, /"probePort" must be at most 65535/],
    ['the probe port on the VXLAN port', { network: '10.244.0.0/16', port: 8472, probePort: 8472 }, /"probePort" must differ from "port" \(the VXLAN port\), got 8472/],
    ['a string ttl', { network: '10.244.0.0/16', ttl: '1h' }, /"ttl" must be an integer/],
    ['a typo', { network: '10.244.0.0/16', subnetlen: 24 }, /"subnetlen" is not a known field \(did you mean "subnetLen"\?\)/],
    ['an unknown field', { network: '10.244.0.0/16', backend: 'vxlan' }, /"backend" is not a known field; known fields: network/],
    ['an IPv4 ipv6Network', { network: '10.244.0.0/16', ipv6Network: '10.0.0.0/8' }, /must be an IPv6 CIDR/],
    ['ipv6SubnetLen alone', { network: '10.244.0.0/16', ipv6SubnetLen: 64 }, /"ipv6SubnetLen" needs "ipv6Network"/],
    ['an IPv6 network too small to pair', { network: '10.244.0.0/16', ipv6Network: 'fd00::/60' },
      /holds 16 \/64 subnets but the IPv4 range pairs up to 256/],
    ['a domain with an empty label', { network: '10.244.0.0/16', domain: 'weft..internal' }, /"domain" must be a DNS name/],
    ['a domain with an underscore', { network: '10.244.0.0/16', domain: 'my_net.internal' }, /"domain" must be a DNS name/],
    ['more nodes than subnets', { network: '10.244.0.0/16', nodes: 5000 },
      /"nodes" asks for 5000 but network 10\.244\.0\.0\/16 in \/24 subnets gives out 255 \(10\.244\.1\.0 to 10\.244\.255\.0\): use "network" with a prefix of \/11 or shorter, or "subnetLen" 29 or longer in 10\.244\.0\.0\/16/],
    ['more nodes than a narrowed range', { network: '10.0.0.0/8', subnetMax: '10.0.9.0', nodes: 10 }, /gives out 9 \(10\.0\.1\.0 to 10\.0\.9\.0\)/],
    ['an MTU below 1280 with IPv6', { network: '10.244.0.0/16', ipv6Network: 'fd00::/56', mtu: 1200 }, /at least 1280/],
  ])('refuses %s', (_name, raw, message) => {
    expect(refusal(raw).message).toMatch(message);
  });
});

describe('subnets by position', () => {
  const config = parseNetworkConfig({ network: '10.244.0.0/16', ipv6Network: 'fd00:10:244::/56' });

  it('numbers the range from subnetMin', () => {
    expect(formatCidr(subnetAt(config, 0))).toBe('10.244.1.0/24');
    expect(formatCidr(subnetAt(config, 254))).toBe('10.244.255.0/24');
    expect(subnetIndex(config, parseCidr('10.244.3.0/24'))).toBe(2);
  });

  it('refuses subnets that are not the range\'s', () => {
    for (const text of ['10.244.0.0/24', '10.244.3.0/25', '10.244.3.128/24', '10.245.0.0/24', 'fd00::/24']) {
      expect(subnetIndex(config, parseCidr(text))).toBeUndefined();
    }
  });

  it('pairs IPv6 subnets by position from the networks\' starts', () => {
    expect(formatCidr(pairedIpv6Subnet(config, parseCidr('10.244.3.0/24'))!)).toBe('fd00:10:244:3::/64');
    expect(formatCidr(pairedIpv6Subnet(config, parseCidr('10.244.255.0/24'))!)).toBe('fd00:10:244:ff::/64');
  });
});

describe('overlayMtu', () => {
  const config = parseNetworkConfig({ network: '10.244.0.0/16' });

  it('subtracts the VXLAN overhead of the underlay family', () => {
    expect(overlayMtu(config, { mtu: 1500, family: 4 })).toBe(1450);
    expect(overlayMtu(config, { mtu: 1500, family: 6 })).toBe(1430);
    expect(overlayMtu(config, { mtu: 9000, family: 4 })).toBe(8950);
  });

  it('keeps a configured MTU that fits and refuses one that does not', () => {
    expect(overlayMtu({ ...config, mtu: 1400 }, { mtu: 1500, family: 4 })).toBe(1400);
    expect(() => overlayMtu({ ...config, mtu: 1460 }, { mtu: 1500, family: 4 })).toThrow(/"mtu" 1460 does not fit the underlay: its MTU 1500 minus 50 bytes of VXLAN over IPv4 leaves 1450/);
  });

  it('refuses an underlay too small for IPv6 in the overlay', () => {
    const dual = parseNetworkConfig({ network: '10.244.0.0/16', ipv6Network: 'fd00::/56' });
    expect(() => overlayMtu(dual, { mtu: 1300, family: 4 })).toThrow(/below IPv6's minimum of 1280/);
  });
});

describe('comparing configs', () => {
  it('treats defaults written out as equal and names real differences', () => {
    const a = parseNetworkConfig({ network: '10.244.0.0/16' });
    const b = parseNetworkConfig({ network: '10.244.0.0/16', subnetLen: 24, port: 4789, ttl: 3600 });
    expect(networkConfigDifferences(a, b)).toEqual([]);
    const c = parseNetworkConfig({ network: '10.244.0.0/16', vni: 2 });
    expect(networkConfigDifferences(a, c)).toEqual(['vni: 1 here, 2 in the store']);
  });

  it('takes a large cluster in 10.0.0.0/8 with IPv6 /64s paired from a /40', () => {
    const config = parseNetworkConfig({ network: '10.0.0.0/8', subnetLen: 24, ipv6Network: 'fd00:10::/40', nodes: 5000 });
    expect(config.nodes).toBe(5000);
    expect(parseNetworkConfig(networkConfigJson(config))).toEqual(config);
  });

  it('reads its own JSON back to the same config', () => {
    const config = parseNetworkConfig({ network: '10.244.0.0/16', ipv6Network: 'fd00::/56', mtu: 1400 });
    expect(parseNetworkConfig(networkConfigJson(config))).toEqual(config);
  });
});
