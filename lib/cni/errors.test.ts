import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode, toCniError } from './errors.ts';

describe('error codes', () => {
  it("match the spec table and the reference, with weft's own from 100", () => {
    const spec = [['IncompatibleVersion', 1], ['UnsupportedField', 2], ['UnknownContainer', 3], ['InvalidEnvironment', 4],
      ['IoFailure', 5], ['DecodingFailure', 6], ['InvalidNetworkConfig', 7], ['InvalidNetns', 8], ['TryAgainLater', 11],
      ['PluginNotAvailable', 50], ['PluginNotAvailableLimitedConnectivity', 51]];
    const own = [['KernelFailure', 100], ['AddressUnavailable', 101], ['DuplicateAllocation', 102], ['FirewallFailure', 103],
      ['DelegateFailure', 104], ['Internal', 199]];
    expect(Object.entries(ErrorCode)).toEqual([...spec, ...own]);
  });

  it.each(Object.entries(ErrorCode))('%s (%i) renders as the spec\'s error JSON', (name, code) => {
    const err = new CniError(code, `${name} happened`, `while testing ${name}`);
    expect(JSON.parse(JSON.stringify(err.toJson('1.1.0')))).toEqual({
      cniVersion: '1.1.0',
      code,
      msg: `${name} happened`,
      details: `while testing ${name}`,
    });
  });
});

describe('CniError', () => {
  it('leaves details out of the JSON when there are none', () => {
    expect(new CniError(7, 'bad').toJson('0.4.0')).toEqual({ cniVersion: '0.4.0', code: 7, msg: 'bad' });
  });

  it('reads as msg and details in logs', () => {
    expect(new CniError(7, 'invalid network config', '"mtu" must be an integer').message).toBe('invalid network config: "mtu" must be an integer');
    expect(new CniError(7, 'bad')).toBeInstanceOf(Error);
  });
});

describe('toCniError', () => {
  it('keeps a CniError as it is', () => {
    const err = new CniError(11, 'later');
    expect(toCniError(err)).toBe(err);
  });

  it('wraps other errors with the fallback code, keeping the cause', () => {
    const cause = new TypeError('x is not a function');
    const wrapped = toCniError(cause);
    expect(wrapped.toJson('1.1.0')).toEqual({ cniVersion: '1.1.0', code: 199, msg: 'x is not a function' });
    expect(wrapped.cause).toBe(cause);
    expect(toCniError('thrown text', ErrorCode.KernelFailure).toJson('1.1.0')).toEqual({ cniVersion: '1.1.0', code: 100, msg: 'thrown text' });
  });
});
