import { describe, expect, it } from 'vitest';
import { ErrorCode } from './errors.ts';
import { ConfigValue } from '../json/config-value.ts';
import {
  convertResult,
  convertVersionedResult,
  parseResult,
  parseVersionedResult,
  readResult,
  resultShapeOf,
  resultToJson,
  toCurrent,
} from './result.ts';
import { ALL_VERSIONS } from './version.ts';
import { catchCniError } from './testing/catch-cni-error.ts';
import type { Result, Result020, Result040 } from './types.ts';

// A current-shape result using every field, with two IPv4 and one IPv6 address and routes of both families.
const full: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'eth0', mac: '0a:58:0a:01:00:05', mtu: 1450, sandbox: '/var/run/netns/c1', socketPath: '/run/vhost.sock', pciID: '0000:00:1f.6' },
    { name: 'veth1234', mac: '0a:58:0a:01:00:01' },
  ],
  ips: [
    { interface: 0, address: '10.1.0.5/24', gateway: '10.1.0.1' },
    { interface: 0, address: '10.2.0.5/24' },
    { interface: 0, address: '2001:db8::5/64', gateway: '2001:db8::1' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 },
    { dst: '::/0' },
    { dst: '192.168.0.0/16', gw: '10.1.0.254' },
  ],
  dns: { nameservers: ['10.1.0.1'], domain: 'cluster.local', search: ['svc.cluster.local'], options: ['ndots:5'] },
};

const full040 = (cniVersion: string): Result040 => ({
  cniVersion,
  interfaces: [
    { name: 'eth0', mac: '0a:58:0a:01:00:05', sandbox: '/var/run/netns/c1' },
    { name: 'veth1234', mac: '0a:58:0a:01:00:01' },
  ],
  ips: [
    { version: '4', interface: 0, address: '10.1.0.5/24', gateway: '10.1.0.1' },
    { version: '4', interface: 0, address: '10.2.0.5/24' },
    { version: '6', interface: 0, address: '2001:db8::5/64', gateway: '2001:db8::1' },
  ],
  routes: full.routes!,
  dns: full.dns!,
});

const full020 = (cniVersion: string): Result020 => ({
  cniVersion,
  ip4: {
    ip: '10.1.0.5/24',
    gateway: '10.1.0.1',
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }, { dst: '192.168.0.0/16', gw: '10.1.0.254' }],
  },
  ip6: { ip: '2001:db8::5/64', gateway: '2001:db8::1', routes: [{ dst: '::/0' }] },
  dns: full.dns!,
});

/** What the current shape keeps of `full` after a trip through each version. */
function expectedCurrentAfter(version: string): Result {
  const shape = resultShapeOf(version);
  if (shape === '100') return { ...full, cniVersion: '1.1.0' };
  if (shape === '040') return { ...full, cniVersion: '1.1.0', interfaces: full040(version).interfaces };
  return {
    cniVersion: '1.1.0',
    ips: [
      { address: '10.1.0.5/24', gateway: '10.1.0.1' },
      { address: '2001:db8::5/64', gateway: '2001:db8::1' },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }, { dst: '192.168.0.0/16', gw: '10.1.0.254' }, { dst: '::/0' }],
    dns: full.dns,
  };
}

describe('convertResult (current shape out to every version)', () => {
  it.each(['1.1.0', '1.0.0'])('to %s keeps everything and relabels', (version) => {
    expect(convertResult(full, version)).toEqual({ ...full, cniVersion: version });
  });

  it.each(['0.4.0', '0.3.1', '0.3.0'])('to %s adds ips[].version and drops interface mtu/socketPath/pciID', (version) => {
    expect(convertResult(full, version)).toEqual(full040(version));
  });

  it.each(['0.2.0', '0.1.0'])('to %s keeps the first IPv4 and first IPv6 and splits routes by family', (version) => {
    expect(convertResult(full, version)).toEqual(full020(version));
  });

  it("treats '' as 0.1.0", () => {
    expect(convertResult(full, '').cniVersion).toBe('0.1.0');
  });

  it('drops 0.2.0 routes of a family that has no address', () => {
    const v4only: Result = { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/8' }], routes: [{ dst: '::/0', gw: 'fe80::1' }, { dst: '0.0.0.0/0' }] };
    expect(convertResult(v4only, '0.2.0')).toEqual({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/8', routes: [{ dst: '0.0.0.0/0' }] }, dns: {} });
  });

  it('cannot write a 0.2.0 result without an address (code 1)', () => {
    const err = catchCniError(() => convertResult({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }] }, '0.2.0'));
    expect(err.code).toBe(ErrorCode.IncompatibleVersion);
    expect(err.msg).toBe('cannot convert: no valid IP addresses');
  });

  it('counts an IPv4-mapped IPv6 address as version 4, as Go does', () => {
    const mapped: Result = { cniVersion: '1.1.0', ips: [{ address: '::ffff:10.0.0.1/120' }] };
    expect((convertResult(mapped, '0.4.0') as Result040).ips![0]!.version).toBe('4');
  });

  it('refuses an unknown version with code 1', () => {
    const err = catchCniError(() => convertResult(full, '2.0.0'));
    expect(err.code).toBe(ErrorCode.IncompatibleVersion);
    expect(err.msg).toBe('unsupported CNI result version "2.0.0"');
  });

  it('leaves out zero numbers and empty lists as the reference JSON does, keeping table/scope 0', () => {
    const sparse: Result = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: '', mtu: 0 }],
      ips: [],
      routes: [{ dst: '10.0.0.0/8', mtu: 0, priority: 0, table: 0, scope: 0 }],
      dns: { nameservers: [] },
    };
    expect(convertResult(sparse, '1.1.0')).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0' }],
      routes: [{ dst: '10.0.0.0/8', table: 0, scope: 0 }],
    });
  });
});

describe('every version to every version', () => {
  for (const from of ALL_VERSIONS) {
    for (const to of ALL_VERSIONS) {
      it(`${from} -> ${to} -> current keeps what both versions can hold`, () => {
        const source = convertResult(full, from);
        const converted = convertVersionedResult(source, to);
        expect(converted.cniVersion).toBe(to);
        expect(resultShapeOf(converted.cniVersion)).toBe(resultShapeOf(to));
        // What survives is what the narrower of the two shapes keeps.
        const narrower = ['020', '040', '100'].indexOf(resultShapeOf(from)!) < ['020', '040', '100'].indexOf(resultShapeOf(to)!) ? from : to;
        expect(toCurrent(converted)).toEqual(expectedCurrentAfter(narrower));
        // And it reads back from its own JSON unchanged.
        expect(parseVersionedResult(resultToJson(converted), to)).toEqual(converted);
      });
    }
  }

  it('within 0.3.x/0.4.0 copies ips[].version as given', () => {
    const labelled: Result040 = { cniVersion: '0.4.0', ips: [{ version: '6', address: '10.0.0.1/24' }] };
    expect(convertVersionedResult(labelled, '0.3.0')).toEqual({ cniVersion: '0.3.0', ips: [{ version: '6', address: '10.0.0.1/24' }], dns: {} });
  });

  it('within 0.1.0/0.2.0 copies routes whole', () => {
    const old: Result020 = { cniVersion: '0.1.0', ip4: { ip: '10.0.0.1/24', routes: [{ dst: '0.0.0.0/0', mtu: 1400 }] } };
    expect(convertVersionedResult(old, '0.2.0')).toEqual({ cniVersion: '0.2.0', ip4: old.ip4, dns: {} });
  });
});

describe('resultToJson', () => {
  it('prints 4-space indented JSON in spec order, with dns {} before 1.0.0', () => {
    const result = convertResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }] }, '0.4.0');
    expect(resultToJson(result)).toBe(
      [
        '{',
        '    "cniVersion": "0.4.0",',
        '    "ips": [',
        '        {',
        '            "version": "4",',
        '            "interface": 0,',
        '            "address": "10.0.0.2/24",',
        '            "gateway": "10.0.0.1"',
        '        }',
        '    ],',
        '    "dns": {}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('omits empty dns from 1.0.0 on', () => {
    expect(JSON.parse(resultToJson(convertResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] }, '1.0.0')))).toEqual({
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.2/24' }],
    });
  });
});

describe('parsing results of any version', () => {
  it('reads a 1.1.0 result, normalising addresses', () => {
    const text = JSON.stringify({
      cniVersion: '1.1.0',
      ips: [{ address: '2001:DB8:0:0::5/64', gateway: '2001:db8:0::1' }],
      routes: [{ dst: '::/0', gw: '2001:0db8::1' }],
      unknownField: true,
    });
    expect(parseResult(text, '1.1.0')).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '2001:db8::5/64', gateway: '2001:db8::1' }],
      routes: [{ dst: '::/0', gw: '2001:db8::1' }],
    });
  });

  it('reads 0.4.0 into the current shape, dropping version', () => {
    expect(parseResult(JSON.stringify(full040('0.4.0')), '1.1.0')).toEqual(expectedCurrentAfter('0.4.0'));
  });

  it('reads 0.2.0 into the current shape, ip4 before ip6', () => {
    expect(parseResult(JSON.stringify(full020('0.2.0')), '1.1.0')).toEqual(expectedCurrentAfter('0.2.0'));
  });

  it('takes the fallback version when the result names none', () => {
    const result = parseVersionedResult('{"ips":[{"version":"4","address":"10.0.0.2/24"}]}', '0.3.1');
    expect(result).toEqual({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.0.0.2/24' }], dns: {} });
  });

  it('reads a result without any version as 0.1.0', () => {
    expect(parseVersionedResult('{"ip4":{"ip":"10.0.0.2/24"}}', '')).toEqual({ cniVersion: '0.1.0', ip4: { ip: '10.0.0.2/24' }, dns: {} });
  });

  it('fills a missing 0.4.0 ips[].version from the address', () => {
    expect(parseVersionedResult('{"cniVersion":"0.4.0","ips":[{"address":"fd00::2/64"}]}', '')).toMatchObject({ ips: [{ version: '6' }] });
  });

  it('reads "null" as an empty result', () => {
    expect(parseResult('null', '1.0.0')).toEqual({ cniVersion: '1.1.0' });
  });

  it.each([
    ['{', 'failed to decode result', undefined],
    ['[]', 'invalid result', '"" must be an object, got a list'],
    ['{"cniVersion":"1.1.0","ips":{}}', 'invalid result', '"ips" must be a list, got an object'],
    ['{"cniVersion":"1.1.0","ips":[{}]}', 'invalid result', 'missing "ips[0].address"'],
    ['{"cniVersion":"1.1.0","ips":[{"address":"10.0.0.1"}]}', 'invalid result', '"ips[0].address" must be a CIDR such as 10.1.0.0/16, got string "10.0.0.1"'],
    ['{"cniVersion":"1.1.0","ips":[{"address":"10.0.0.1/8","gateway":"x"}]}', 'invalid result', '"ips[0].gateway" must be an IP address, got string "x"'],
    ['{"cniVersion":"1.1.0","ips":[{"address":"10.0.0.1/8","interface":-1}]}', 'invalid result', '"ips[0].interface" must be at least 0, got -1'],
    ['{"cniVersion":"1.1.0","interfaces":[{"name":3}]}', 'invalid result', '"interfaces[0].name" must be a string, got number 3'],
    ['{"cniVersion":"1.1.0","interfaces":[{"name":"e","mtu":1.5}]}', 'invalid result', '"interfaces[0].mtu" must be an integer, got number 1.5'],
    ['{"cniVersion":"1.1.0","routes":[{"gw":"10.0.0.1"}]}', 'invalid result', 'missing "routes[0].dst"'],
    ['{"cniVersion":"1.1.0","routes":[{"dst":"0.0.0.0/0","table":"main"}]}', 'invalid result', '"routes[0].table" must be an integer, got string "main"'],
    ['{"cniVersion":"1.1.0","dns":{"nameservers":"10.0.0.1"}}', 'invalid result', '"dns.nameservers" must be a list, got string "10.0.0.1"'],
    ['{"cniVersion":"0.4.0","ips":[{"version":"5","address":"10.0.0.1/8"}]}', 'invalid result', '"ips[0].version" must be "4" or "6"'],
    ['{"cniVersion":"0.2.0","ip4":{"ip":"bad"}}', 'invalid result', '"ip4.ip" must be a CIDR such as 10.1.0.0/16, got string "bad"'],
    ['{"cniVersion":7}', 'invalid result', '"cniVersion" must be a string, got number 7'],
  ])('refuses %s with code 6', (text, msg, details) => {
    const err = catchCniError(() => parseResult(text, '1.1.0'));
    expect(err.code).toBe(ErrorCode.DecodingFailure);
    expect(err.msg).toBe(msg);
    if (details !== undefined) expect(err.details).toBe(details);
  });

  it('refuses an unknown result version with code 1', () => {
    const err = catchCniError(() => parseResult('{"cniVersion":"0.5.0"}', '1.1.0'));
    expect(err.code).toBe(ErrorCode.IncompatibleVersion);
  });

  it('names fields by their path in a config, with code 7', () => {
    const prev = new ConfigValue({ cniVersion: '1.0.0', ips: [{ address: 'nope' }] }, 'prevResult');
    const err = catchCniError(() => readResult(prev, '1.0.0'));
    expect(err.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(err.details).toBe('"prevResult.ips[0].address" must be a CIDR such as 10.1.0.0/16, got string "nope"');
  });
});
