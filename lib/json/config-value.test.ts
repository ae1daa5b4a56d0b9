import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../cni/errors.ts';
import { ConfigValue } from './config-value.ts';
import { catchCniError } from '../cni/testing/catch-cni-error.ts';

const root = new ConfigValue({
  name: 'n',
  mtu: 1500,
  hairpin: true,
  ipam: { ranges: [[{ subnet: '10.1.0.0/16', gateway: '10.1.0.1' }], [{ subnet: '2001:DB8::/64' }]] },
  nested: { empty: '' },
});

describe('ConfigValue', () => {
  it('reads present fields by type', () => {
    expect(root.field('name').string()).toBe('n');
    expect(root.field('mtu').integer({ min: 68, max: 65535 })).toBe(1500);
    expect(root.field('hairpin').boolean()).toBe(true);
    expect(root.field('ipam').object()).toHaveProperty('ranges');
  });

  it('gives undefined for absent optional fields, at any depth', () => {
    expect(root.field('missing').optionalString()).toBeUndefined();
    expect(root.field('missing').field('deeper').optionalInteger()).toBeUndefined();
    expect(root.field('missing').optionalList()).toBeUndefined();
    expect(root.field('missing').optionalBoolean()).toBeUndefined();
    expect(root.field('missing').optionalCidr()).toBeUndefined();
    expect(root.field('missing').optionalIp()).toBeUndefined();
    expect(root.field('missing').present).toBe(false);
  });

  it('reads a null member as absent, as Go\'s encoding/json does, and a null where a value must be as wrong', () => {
    const nulls = new ConfigValue({ mtu: null, args: null, list: [null] });
    expect(nulls.field('mtu').optionalInteger()).toBeUndefined();
    expect(nulls.field('args').field('cni').field('mac').optionalString()).toBeUndefined();
    expect(nulls.field('args').present).toBe(false);
    expect(() => nulls.field('mtu').integer()).toThrow(/missing "mtu"/);
    expect(catchCniError(() => nulls.field('list').list()[0]!.object()).details).toBe('"list[0]" must be an object, got null');
  });

  it('names nested fields by path', () => {
    const ranges = root.field('ipam').field('ranges').list();
    const subnet = ranges[1]!.list()[0]!.field('subnet');
    expect(subnet.path).toBe('ipam.ranges[1][0].subnet');
    expect(subnet.cidr()).toBe('2001:db8::/64');
    expect(ranges[0]!.list()[0]!.field('gateway').ip()).toBe('10.1.0.1');
  });

  it.each<[string, () => unknown, string]>([
    ['missing required', () => root.field('absent').string(), 'missing "absent"'],
    ['string for integer', () => root.field('name').integer(), '"name" must be an integer, got string "n"'],
    ['below min', () => root.field('mtu').integer({ min: 9000 }), '"mtu" must be at least 9000, got 1500'],
    ['above max', () => root.field('mtu').integer({ max: 1000 }), '"mtu" must be at most 1000, got 1500'],
    ['number for boolean', () => root.field('mtu').boolean(), '"mtu" must be true or false, got number 1500'],
    ['field of a non-object', () => root.field('name').field('x'), '"name" must be an object, got string "n"'],
    ['empty string', () => root.field('nested').field('empty').nonEmptyString(), '"nested.empty" must not be empty'],
    ['bad IP', () => root.field('name').ip(), '"name" must be an IP address, got string "n"'],
    ['bad CIDR', () => root.field('name').cidr(), '"name" must be a CIDR such as 10.1.0.0/16, got string "n"'],
    ['list of non-strings', () => root.field('ipam').field('ranges').optionalStringList(), '"ipam.ranges[0]" must be a string, got a list'],
    ['boolean map with a number', () => root.field('ipam').field('ranges').optionalBooleanMap(), '"ipam.ranges" must be an object, got a list'],
  ])('refuses %s with code 7 and the path', (_what, read, details) => {
    const err = catchCniError(read);
    expect(err.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(err.msg).toBe('invalid network config');
    expect(err.details).toBe(details);
  });

  it('raises the error kind it was made with, in nested fields too', () => {
    const value = new ConfigValue({ ips: [{}] }, '', { code: ErrorCode.DecodingFailure, msg: 'invalid result' });
    const err = catchCniError(() => value.field('ips').list()[0]!.field('address').string());
    expect(err.toJson('1.0.0')).toEqual({ cniVersion: '1.0.0', code: 6, msg: 'invalid result', details: 'missing "ips[0].address"' });
  });

  it('reads interface names the kernel takes, naming the field and the rule broken', () => {
    const names = new ConfigValue({ ok: 'cni0', nul: 'hb\u0000br', long: 'x'.repeat(16) });
    expect(names.field('ok').interfaceName()).toBe('cni0');
    expect(catchCniError(() => names.field('nul').interfaceName())).toMatchObject({
      code: ErrorCode.InvalidNetworkConfig,
      details: '"nul" must be an interface name (interface name contains a NUL byte), got "hb\\u0000br"',
    });
    expect(catchCniError(() => names.field('long').interfaceName()).details).toMatch(/^"long" must be an interface name \(interface name is too long\)/);
  });

  it('reads file paths: no NUL, absolute where asked, a fallback for absent or empty', () => {
    const paths = new ConfigValue({ abs: '/var/lib/x', rel: 'x', nul: '/etc/resolv.conf\u0000x', empty: '' });
    expect(paths.field('rel').filePath()).toBe('x');
    expect(paths.field('abs').absoluteFilePath('/d')).toBe('/var/lib/x');
    expect(paths.field('empty').absoluteFilePath('/d')).toBe('/d');
    expect(paths.field('missing').absoluteFilePath('/d')).toBe('/d');
    expect(paths.field('missing').optionalFilePath()).toBeUndefined();
    expect(catchCniError(() => paths.field('rel').absoluteFilePath('/d')).details).toBe('"rel" must be an absolute path, got "x"');
    expect(catchCniError(() => paths.field('nul').optionalFilePath()).details).toBe('"nul" must be a path without NUL bytes, got "/etc/resolv.conf\\u0000x"');
  });

  it('does not read inherited members as fields', () => {
    expect(new ConfigValue({}).field('constructor').present).toBe(false);
    expect(new ConfigValue({}).field('__proto__').present).toBe(false);
  });
});
