import { describe, expect, it } from 'vitest';
import { ErrorCode } from './errors.ts';
import { K8S_ARGS, parseArgBoolean, parseCniArgs } from './args.ts';
import { parseIp, type IpAddress } from '../ip/address.ts';
import { catchCniError } from './testing/catch-cni-error.ts';

const schema = { IP: (value: string): IpAddress[] => value.split(',').map(parseIp), MAC: String, ...K8S_ARGS };

describe('parseCniArgs', () => {
  it('reads nothing from an empty CNI_ARGS', () => {
    expect(parseCniArgs('', schema)).toEqual({ IgnoreUnknown: false });
  });

  it('reads known keys through their parsers', () => {
    const args = parseCniArgs('IP=10.1.0.9,fd00::9;MAC=0a:58:0a:01:00:09;K8S_POD_NAME=web-0', schema);
    expect(args.IP).toEqual([parseIp('10.1.0.9'), parseIp('fd00::9')]);
    expect(args.MAC).toBe('0a:58:0a:01:00:09');
    expect(args.K8S_POD_NAME).toBe('web-0');
    expect(args.K8S_POD_NAMESPACE).toBeUndefined();
  });

  it('accepts an empty value and lets a later pair win', () => {
    expect(parseCniArgs('MAC=;MAC=aa', schema).MAC).toBe('aa');
    expect(parseCniArgs('MAC=', schema).MAC).toBe('');
  });

  it('refuses unknown keys, listing them', () => {
    const err = catchCniError(() => parseCniArgs('FOO=1;MAC=aa;BAR=2', schema));
    expect(err.toJson('1.1.0')).toEqual({ cniVersion: '1.1.0', code: 4, msg: 'invalid CNI_ARGS', details: 'unknown args ["FOO=1" "BAR=2"]' });
  });

  it('matches keys case-sensitively', () => {
    expect(catchCniError(() => parseCniArgs('mac=aa', schema)).details).toBe('unknown args ["mac=aa"]');
  });

  it.each(['IgnoreUnknown=1', 'IgnoreUnknown=true', 'IgnoreUnknown=TRUE', 'IgnoreUnknown=True'])('ignores unknown keys with %s, wherever it stands', (flag) => {
    expect(parseCniArgs(`FOO=1;${flag}`, schema)).toEqual({ IgnoreUnknown: true });
    expect(parseCniArgs(`${flag};K8S_POD_UID=u1;X=y`, schema)).toEqual({ IgnoreUnknown: true, K8S_POD_UID: 'u1' });
  });

  it.each(['IgnoreUnknown=0', 'IgnoreUnknown=false'])('still refuses unknown keys with %s', (flag) => {
    expect(catchCniError(() => parseCniArgs(`FOO=1;${flag}`, schema)).code).toBe(ErrorCode.InvalidEnvironment);
  });

  it.each([
    ['FOO', 'invalid pair "FOO"'],
    ['MAC=a=b', 'invalid pair "MAC=a=b"'],
    ['MAC=aa;', 'invalid pair ""'],
    [';MAC=aa', 'invalid pair ""'],
    ['IgnoreUnknown=yes', 'error parsing value of pair "IgnoreUnknown=yes": boolean unmarshal error: invalid input yes'],
    ['IP=10.1.0.300', 'error parsing value of pair "IP=10.1.0.300": invalid IP address: "10.1.0.300"'],
  ])('refuses %j with code 4', (text, details) => {
    const err = catchCniError(() => parseCniArgs(text, schema));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
    expect(err.msg).toBe('invalid CNI_ARGS');
    expect(err.details).toBe(details);
  });

  it('does not take inherited object members for keys', () => {
    expect(catchCniError(() => parseCniArgs('toString=x', schema)).details).toBe('unknown args ["toString=x"]');
  });
});

describe('parseArgBoolean', () => {
  it.each([
    ['1', true],
    ['true', true],
    ['TrUe', true],
    ['0', false],
    ['false', false],
    ['FALSE', false],
  ])('reads %j as %j', (text, value) => {
    expect(parseArgBoolean(text)).toBe(value);
  });

  it.each(['', 'yes', '2', 'on'])('refuses %j', (text) => {
    expect(() => parseArgBoolean(text)).toThrow(TypeError);
  });
});
