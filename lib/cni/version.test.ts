import { describe, expect, it } from 'vitest';
import { ErrorCode } from './errors.ts';
import { catchCniError as thrown } from './testing/catch-cni-error.ts';
import {
  ALL_VERSIONS,
  CURRENT_VERSION,
  checkVersion,
  compareVersions,
  decodeVersionInfo,
  isKnownVersion,
  parseVersion,
  quoteList,
  versionAtLeast,
  versionReply,
  versionsFrom,
  type Verb,
} from './version.ts';

describe('versions', () => {
  it('speaks every version from 0.1.0 to 1.1.0, oldest first', () => {
    expect(ALL_VERSIONS).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    expect(CURRENT_VERSION).toBe('1.1.0');
    for (let i = 1; i < ALL_VERSIONS.length; i++) expect(compareVersions(ALL_VERSIONS[i - 1]!, ALL_VERSIONS[i]!)).toBeLessThan(0);
  });

  it.each([
    ['', [0, 1, 0]],
    ['1', [1, 0, 0]],
    ['0.4', [0, 4, 0]],
    ['1.1.0', [1, 1, 0]],
    ['10.20.30', [10, 20, 30]],
  ] as const)('parses %j', (text, parts) => {
    expect(parseVersion(text)).toEqual(parts);
  });

  it.each(['1.2.3.4', 'a.b.c', '1.x', '1..0', '-1.0.0', 'v1.0.0', '1.0.0-rc1', ' 1.0.0'])('refuses %j', (text) => {
    expect(parseVersion(text)).toBeUndefined();
    expect(compareVersions(text, '1.0.0')).toBeUndefined();
    expect(versionAtLeast(text, '0.1.0')).toBe(false);
  });

  it('compares numerically, not as text', () => {
    expect(compareVersions('0.10.0', '0.9.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0', '1.0.0')).toBe(0);
    expect(compareVersions('', '0.1.0')).toBe(0);
    expect(versionAtLeast('0.4.0', '0.4.0')).toBe(true);
    expect(versionAtLeast('0.3.1', '0.4.0')).toBe(false);
  });

  it('knows which versions it speaks', () => {
    expect(isKnownVersion('0.3.1')).toBe(true);
    expect(isKnownVersion('0.3.2')).toBe(false);
    expect(versionsFrom('0.3.0')).toEqual(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
  });

  it('quotes lists as the reference does', () => {
    expect(quoteList(['0.1.0', '0.2.0'])).toBe('["0.1.0" "0.2.0"]');
    expect(quoteList([])).toBe('[]');
  });
});

describe('checkVersion', () => {
  const all = ALL_VERSIONS;

  it('lets every verb run in every version that has it', () => {
    const since: Record<Verb, string> = { ADD: '0.1.0', DEL: '0.1.0', VERSION: '0.1.0', CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' };
    for (const [verb, first] of Object.entries(since) as [Verb, string][]) {
      for (const version of all) {
        if (versionAtLeast(version, first)) expect(() => checkVersion(verb, version, all)).not.toThrow();
        else expect(thrown(() => checkVersion(verb, version, all)).code).toBe(ErrorCode.IncompatibleVersion);
      }
    }
  });

  it.each([
    ['CHECK', '0.3.1'],
    ['GC', '1.0.0'],
    ['STATUS', '0.4.0'],
  ] as const)('refuses %s for a %s config with code 1', (verb, version) => {
    const err = thrown(() => checkVersion(verb, version, all));
    expect(err.code).toBe(1);
    expect(err.msg).toBe(`config version does not allow ${verb}`);
  });

  it('refuses a config version the plugin does not support, naming both sides', () => {
    const err = thrown(() => checkVersion('ADD', '0.9.0', ['0.4.0', '1.0.0']));
    expect(err.toJson('1.1.0')).toEqual({
      cniVersion: '1.1.0',
      code: 1,
      msg: 'incompatible CNI versions',
      details: 'config is "0.9.0", plugin supports ["0.4.0" "1.0.0"]',
    });
  });

  it('refuses a verb the plugin has no version for', () => {
    expect(thrown(() => checkVersion('GC', '1.1.0', ['0.4.0', '1.0.0'])).msg).toBe('plugin version does not allow GC');
  });

  it('needs an exact match, as the reference does', () => {
    expect(thrown(() => checkVersion('ADD', '1.0', all)).code).toBe(1);
  });
});

describe('VERSION reply', () => {
  it('echoes the requested version and lists the supported ones', () => {
    expect(versionReply('1.0.0', ['0.4.0', '1.0.0'])).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] });
  });

  it('answers with the current version when none (or garbage) was requested', () => {
    expect(versionReply(undefined, all()).cniVersion).toBe('1.1.0');
    expect(versionReply('not-a-version', all()).cniVersion).toBe('1.1.0');
  });

  function all() {
    return [...ALL_VERSIONS];
  }
});

describe('decodeVersionInfo', () => {
  it('reads a VERSION reply', () => {
    expect(decodeVersionInfo('{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}')).toEqual({
      cniVersion: '1.1.0',
      supportedVersions: ['1.0.0', '1.1.0'],
    });
  });

  it('gives a 0.2.0 plugin without a list 0.1.0 and 0.2.0', () => {
    expect(decodeVersionInfo('{"cniVersion":"0.2.0"}').supportedVersions).toEqual(['0.1.0', '0.2.0']);
  });

  it.each([
    ['not json', 'Unexpected'],
    ['[]', 'expected a JSON object, got a list'],
    ['{}', 'missing "cniVersion"'],
    ['{"cniVersion":""}', '"cniVersion" must not be empty'],
    ['{"cniVersion":"1.0.0"}', 'missing field supportedVersions'],
    ['{"cniVersion":"1.0.0","supportedVersions":[]}', 'missing field supportedVersions'],
    ['{"cniVersion":"1.0.0","supportedVersions":[1]}', '"supportedVersions[0]" must be a string, got number 1'],
  ])('refuses %j with code 6', (text, detail) => {
    const err = thrown(() => decodeVersionInfo(text));
    expect(err.code).toBe(ErrorCode.DecodingFailure);
    expect(err.msg).toBe('decoding version info');
    expect(err.details).toContain(detail);
  });
});
