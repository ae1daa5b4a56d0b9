import { describe, expect, it } from 'vitest';
import { ConfigValue } from '../../lib/json/config-value.ts';
import { netConfFromObject } from '../../lib/cni/config.ts';
import type { JsonObject } from '../../lib/json/json-value.ts';
import { formatIp } from '../../lib/ip/address.ts';
import { cniArgsIps, parseHostLocalConf } from './config.ts';
import { formatRangeSet } from './range-set.ts';

function parse(fields: JsonObject) {
  const raw: JsonObject = { cniVersion: '1.0.0', name: 'net1', type: 'bridge', ...fields };
  return parseHostLocalConf(netConfFromObject(raw), new ConfigValue(raw)).hostLocal;
}

describe('parseHostLocalConf', () => {
  it('reads range sets, routes, dataDir and resolvConf', () => {
    const conf = parse({
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: '10.1.0.0/24', gateway: '10.1.0.254' }, { subnet: '10.2.0.0/24', rangeStart: '10.2.0.50' }], [{ subnet: 'fd00::/64' }]],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.0.9' }],
        dataDir: '/run/ipam',
        resolvConf: '/etc/resolv.conf',
      },
    });
    expect(conf.ranges.map(formatRangeSet)).toEqual(['10.1.0.1-10.1.0.254,10.2.0.50-10.2.0.254', 'fd00::1-fd00::ffff:ffff:ffff:ffff']);
    expect(formatIp(conf.ranges[0]![0]!.gateway)).toBe('10.1.0.254');
    expect(conf.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.0.9' }]);
    expect(conf.dataDir).toBe('/run/ipam');
    expect(conf.resolvConf).toBe('/etc/resolv.conf');
    expect(conf.requestedIps).toEqual([]);
  });

  it('puts runtimeConfig.ipRanges first and the old single-range form before ranges', () => {
    const conf = parse({
      runtimeConfig: { ipRanges: [[{ subnet: '10.9.0.0/24' }]] },
      ipam: { subnet: '10.1.0.0/16', rangeStart: '10.1.5.0', rangeEnd: '10.1.5.255', gateway: '10.1.0.1', ranges: [[{ subnet: 'fd00::/120' }]] },
    });
    expect(conf.ranges.map(formatRangeSet)).toEqual(['10.9.0.1-10.9.0.254', '10.1.5.0-10.1.5.255', 'fd00::1-fd00::ff']);
    expect(conf.dataDir).toBe('/var/lib/cni/networks');
    expect(conf.routes).toEqual([]);
  });

  it('collects requested addresses from args.cni.ips and runtimeConfig.ips, with or without a prefix, unmapping IPv4-mapped ones', () => {
    const conf = parse({
      args: { cni: { ips: ['10.1.0.7', '::ffff:10.1.0.8', '10.1.0.72/24'] } },
      runtimeConfig: { ips: ['fd00::9/64', '10.1.0.10'] },
      ipam: { ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00::/64' }]] },
    });
    expect(conf.requestedIps.map(formatIp)).toEqual(['10.1.0.7', '10.1.0.8', '10.1.0.72', 'fd00::9', '10.1.0.10']);
  });

  it.each<[string, JsonObject, number, string]>([
    ['no ipam', {}, 7, "IPAM config missing 'ipam' key"],
    ['no ranges', { ipam: { type: 'host-local' } }, 7, 'no IP ranges specified'],
    ['a bad subnet', { ipam: { ranges: [[{ subnet: '10.1.0.0/33' }]] } }, 7, 'invalid network config: "ipam.ranges[0][0].subnet" must be a CIDR such as 10.1.0.0/16, got string "10.1.0.0/33"'],
    ['a missing subnet', { ipam: { ranges: [[{ rangeStart: '10.0.0.1' }]] } }, 7, 'invalid network config: missing "ipam.ranges[0][0].subnet"'],
    ['a range set that is not a list', { ipam: { ranges: [{ subnet: '10.0.0.0/24' }] } }, 7, 'invalid network config: "ipam.ranges[0]" must be a list, got an object'],
    ['a range outside its subnet', { ipam: { ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.1.0.0/24', rangeEnd: '10.2.0.1' }]] } }, 7, 'invalid range set 1: RangeEnd 10.2.0.1 not in network 10.1.0.0/24'],
    ['overlapping range sets', { ipam: { subnet: '10.0.0.0/16', ranges: [[{ subnet: '10.0.1.0/24' }]] } }, 7, 'range set 0 overlaps with 1'],
    ['a bad requested address', { args: { cni: { ips: ['10.0.0.300'] } }, ipam: { subnet: '10.0.0.0/24' } }, 7, 'invalid network config: "args.cni.ips[0]" cannot understand ip: "10.0.0.300"'],
    ['a bad route', { ipam: { subnet: '10.0.0.0/24', routes: [{ dst: 'default' }] } }, 7, 'invalid network config: "ipam.routes[0].dst" must be a CIDR such as 10.1.0.0/16, got string "default"'],
    ['a dataDir that is not text', { ipam: { subnet: '10.0.0.0/24', dataDir: 5 } }, 7, 'invalid network config: "ipam.dataDir" must be a string, got number 5'],
    ['a relative dataDir', { ipam: { subnet: '10.0.0.0/24', dataDir: 'relative/dir' } }, 7, 'invalid network config: "ipam.dataDir" must be an absolute path, got "relative/dir"'],
    ['a route scope past one byte', { ipam: { subnet: '10.0.0.0/24', routes: [{ dst: '10.50.0.0/16', scope: 300 }] } }, 7, 'invalid network config: "ipam.routes[0].scope" must be at most 255, got 300'],
  ])('refuses %s', (_, fields, code, message) => {
    expect(() => parse(fields)).toThrow(expect.objectContaining({ name: 'CniError', code, message }));
  });

  it('refuses two addresses of one family for a 0.2.0 config (code 1)', () => {
    const ipam = { ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.1.0.0/24' }]] };
    expect(() => parse({ cniVersion: '0.2.0', ipam }))
      .toThrow(expect.objectContaining({ code: 1, message: 'CNI version 0.2.0 does not support more than 1 address per family' }));
    expect(parse({ cniVersion: '0.2.0', ipam: { ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]] } }).ranges).toHaveLength(2);
    expect(parse({ cniVersion: '0.3.0', ipam }).ranges).toHaveLength(2);
  });
});

describe('cniArgsIps', () => {
  it('reads IP= (comma-separated) and ignores other keys only when told to', () => {
    expect(cniArgsIps('')).toEqual([]);
    expect(cniArgsIps('IP=10.0.0.5').map(formatIp)).toEqual(['10.0.0.5']);
    expect(cniArgsIps('IgnoreUnknown=1;K8S_POD_NAME=a;IP=10.0.0.5,fd00::5').map(formatIp)).toEqual(['10.0.0.5', 'fd00::5']);
    expect(() => cniArgsIps('K8S_POD_NAME=a')).toThrow(expect.objectContaining({ code: 4 }));
    expect(() => cniArgsIps('IP=10.0.0')).toThrow(expect.objectContaining({ code: 4 }));
  });
});
