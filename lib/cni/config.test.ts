import { describe, expect, it } from 'vitest';
import { ErrorCode } from './errors.ts';
import {
  configVersionOf,
  decodeConfigObject,
  netConfFromObject,
  netConfListFromConf,
  parseNetConf,
  parseNetConfList,
  validateNetworkName,
} from './config.ts';
import { catchCniError } from './testing/catch-cni-error.ts';
import type { JsonObject } from '../json/json-value.ts';

const minimal = { cniVersion: '1.1.0', name: 'net1', type: 'bridge' };

function confError(extra: JsonObject) {
  return catchCniError(() => netConfFromObject({ ...minimal, ...extra }));
}

describe('decodeConfigObject', () => {
  it.each([
    ['', 'Unexpected end of JSON input'],
    ['{"name":', 'Unexpected end of JSON input'],
    ['{name: "x"}', 'JSON'],
    ['[]', 'expected a JSON object, got a list'],
    ['null', 'expected a JSON object, got null'],
    ['"net"', 'expected a JSON object, got string'],
    ['42', 'expected a JSON object, got number'],
  ])('refuses %j with code 6', (text, detail) => {
    const err = catchCniError(() => decodeConfigObject(text));
    expect(err.code).toBe(ErrorCode.DecodingFailure);
    expect(err.msg).toBe('error unmarshall network config');
    expect(err.details).toContain(detail);
  });

  it('decodes an object', () => {
    expect(decodeConfigObject('{"a":[1,{"b":null}]}')).toEqual({ a: [1, { b: null }] });
  });
});

describe('network name', () => {
  it.each(['a', 'net1', 'my-net_1.2', '0net', 'A.b-c_D'])('accepts %j', (name) => {
    expect(validateNetworkName(name)).toBe(name);
  });

  it.each([undefined, ''])('calls %j missing', (name) => {
    const err = catchCniError(() => validateNetworkName(name));
    expect(err.toJson('1.1.0')).toEqual({ cniVersion: '1.1.0', code: 7, msg: 'missing network name' });
  });

  it.each(['-net', '.net', '_net', 'my net', 'a/b', 'net!', 'nét', 'a\nb'])('refuses %j', (name) => {
    const err = catchCniError(() => validateNetworkName(name));
    expect(err.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(err.msg).toBe('invalid characters found in network name');
    expect(err.details).toBe(name);
  });

  it('refuses a name that is not a string', () => {
    expect(catchCniError(() => validateNetworkName(7)).details).toBe('"name" must be a string, got number 7');
  });
});

describe('netConfFromObject', () => {
  it('reads a minimal config', () => {
    expect(netConfFromObject(minimal)).toEqual(minimal);
  });

  it('reads every protocol field and leaves plugin fields alone', () => {
    const asGiven = {
      capabilities: { portMappings: true, mac: false },
      ipam: { type: 'host-local', subnet: '10.1.0.0/16' },
      dns: { nameservers: ['10.1.0.1'], domain: 'local', search: ['a', 'b'], options: ['ndots:5'] },
      args: { cni: { ips: ['10.1.0.9'] } },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
      prevResult: { cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/16' }] },
    };
    const attachments = [{ containerID: 'c1', ifname: 'eth0' }];
    const conf = netConfFromObject({ ...minimal, ...asGiven, bridge: 'cni0', 'cni.dev/valid-attachments': attachments });
    expect(conf).toEqual({ ...minimal, ...asGiven, validAttachments: attachments });
    expect(conf).not.toHaveProperty('bridge');
  });

  it('defaults a missing or empty cniVersion to 0.1.0', () => {
    expect(netConfFromObject({ name: 'n', type: 't' }).cniVersion).toBe('0.1.0');
    expect(configVersionOf({ cniVersion: '' })).toBe('0.1.0');
  });

  it('reads a prevResult of an older version into the current shape', () => {
    const conf = netConfFromObject({
      ...minimal,
      cniVersion: '0.4.0',
      prevResult: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.5/16', gateway: '10.1.0.1' }] },
    });
    expect(conf.prevResult).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }] });
  });

  it("reads a prevResult without cniVersion in the config's version", () => {
    const conf = netConfFromObject({ ...minimal, cniVersion: '0.2.0', prevResult: { ip4: { ip: '10.1.0.5/16' } } });
    expect(conf.prevResult).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/16' }] });
  });

  it('ignores a null prevResult and an empty ipam type', () => {
    const conf = netConfFromObject({ ...minimal, prevResult: null, ipam: { type: '' } });
    expect(conf.prevResult).toBeUndefined();
    expect(conf.ipam).toEqual({ type: '' });
  });

  it.each<[string, JsonObject, string]>([
    ['cniVersion not a string', { cniVersion: 1.1 }, '"cniVersion" must be a string, got number 1.1'],
    ['type missing', { type: undefined as never }, 'missing "type"'],
    ['type empty', { type: '' }, '"type" must not be empty'],
    ['type a number', { type: 3 }, '"type" must be a string, got number 3'],
    ['type with a slash', { type: '../bridge' }, '"type" must be an executable name without / or \\, got "../bridge"'],
    ['type with a backslash', { type: 'a\\b' }, '"type" must be an executable name without / or \\, got "a\\\\b"'],
    ['capabilities a list', { capabilities: ['mac'] }, '"capabilities" must be an object, got a list'],
    ['capability not boolean', { capabilities: { mac: 'yes' } }, '"capabilities.mac" must be true or false, got string "yes"'],
    ['ipam a string', { ipam: 'host-local' }, '"ipam" must be an object, got string "host-local"'],
    ['ipam type a number', { ipam: { type: 1 } }, '"ipam.type" must be a string, got number 1'],
    ['ipam type a path', { ipam: { type: '/bin/sh' } }, '"ipam.type" must be an executable name without / or \\, got "/bin/sh"'],
    ['dns a list', { dns: [] }, '"dns" must be an object, got a list'],
    ['dns nameservers a string', { dns: { nameservers: '1.1.1.1' } }, '"dns.nameservers" must be a list, got string "1.1.1.1"'],
    ['dns nameserver a number', { dns: { nameservers: [1] } }, '"dns.nameservers[0]" must be a string, got number 1'],
    ['dns domain a list', { dns: { domain: ['a'] } }, '"dns.domain" must be a string, got a list'],
    ['dns search a string', { dns: { search: 'a' } }, '"dns.search" must be a list, got string "a"'],
    ['dns options with null', { dns: { options: [null] } }, '"dns.options[0]" must be a string, got null'],
    ['args a string', { args: 'x' }, '"args" must be an object, got string "x"'],
    ['runtimeConfig a list', { runtimeConfig: [] }, '"runtimeConfig" must be an object, got a list'],
    ['prevResult a string', { prevResult: 'x' }, '"prevResult" must be an object, got string "x"'],
    ['prevResult with a bad address', { prevResult: { ips: [{ address: '10.0.0.1/33' }] } }, '"prevResult.ips[0].address" must be a CIDR such as 10.1.0.0/16, got string "10.0.0.1/33"'],
    ['valid-attachments an object', { 'cni.dev/valid-attachments': {} }, '"cni.dev/valid-attachments" must be a list, got an object'],
    ['valid-attachment without ifname', { 'cni.dev/valid-attachments': [{ containerID: 'c' }] }, 'missing "cni.dev/valid-attachments[0].ifname"'],
  ])('refuses %s with code 7', (_what, extra, details) => {
    const err = confError(extra);
    expect(err.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(err.msg).toBe('invalid network config');
    expect(err.details).toBe(details);
  });

  it('refuses a prevResult of a version weft does not know with code 1', () => {
    expect(confError({ prevResult: { cniVersion: '9.0.0' } }).code).toBe(ErrorCode.IncompatibleVersion);
  });

  it('checks the name before anything else', () => {
    expect(confError({ name: 'bad name', type: 3 }).msg).toBe('invalid characters found in network name');
  });
});

describe('parseNetConf', () => {
  it('decodes and validates', () => {
    expect(parseNetConf(JSON.stringify(minimal))).toEqual(minimal);
    expect(catchCniError(() => parseNetConf('{')).code).toBe(ErrorCode.DecodingFailure);
    expect(catchCniError(() => parseNetConf('{"type":"x"}')).msg).toBe('missing network name');
  });
});

describe('parseNetConfList', () => {
  const list = (extra: JsonObject) => JSON.stringify({ name: 'dbnet', plugins: [{ type: 'bridge' }], ...extra });

  it('reads a list, keeping plugin objects whole', () => {
    const plugin = { type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/16' }]] } };
    expect(parseNetConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'dbnet', plugins: [plugin, { type: 'portmap' }] }))).toEqual({
      cniVersion: '1.0.0',
      name: 'dbnet',
      disableCheck: false,
      disableGC: false,
      loadOnlyInlinedPlugins: false,
      plugins: [plugin, { type: 'portmap' }],
    });
  });

  it('selects the highest version of cniVersion and cniVersions not above 1.1.0', () => {
    const parsed = parseNetConfList(list({ cniVersion: '0.4.0', cniVersions: ['0.3.1', '1.0.0', '2.0.0'] }));
    expect(parsed.cniVersion).toBe('1.0.0');
    expect(parsed.cniVersions).toEqual(['0.3.1', '1.0.0', '2.0.0']);
    expect(parseNetConfList(list({ cniVersion: '1.1.0', cniVersions: ['0.3.1'] })).cniVersion).toBe('1.1.0');
    expect(parseNetConfList(list({ cniVersions: ['0.4.0', '0.10.0'] })).cniVersion).toBe('0.10.0');
  });

  it('keeps cniVersion as given when every listed version is too new, and "" when there is none', () => {
    expect(parseNetConfList(list({ cniVersion: '', cniVersions: ['3.0.0'] })).cniVersion).toBe('');
    expect(parseNetConfList(list({})).cniVersion).toBe('');
  });

  it.each([
    [true, true],
    [false, false],
    ['true', true],
    ['TRUE', true],
    ['False', false],
  ])('reads disableCheck/disableGC %j as %j', (value, expected) => {
    const parsed = parseNetConfList(list({ disableCheck: value, disableGC: value }));
    expect(parsed.disableCheck).toBe(expected);
    expect(parsed.disableGC).toBe(expected);
  });

  it('allows plugins to be absent (loaded from the sibling folder)', () => {
    expect(parseNetConfList(JSON.stringify({ name: 'n' })).plugins).toEqual([]);
  });

  it.each<[string, JsonObject, string]>([
    ['a bad cniVersions entry', { cniVersions: ['1.0.0', 'one'] }, '"cniVersions[1]" is not a version: "one"'],
    ['cniVersions not a list', { cniVersions: '1.0.0' }, '"cniVersions" must be a list, got string "1.0.0"'],
    ['a bad cniVersion beside cniVersions', { cniVersion: 'x', cniVersions: ['1.0.0'] }, '"cniVersion" is not a version: "x"'],
    ['disableCheck "yes"', { disableCheck: 'yes' }, '"disableCheck" must be true or false, got "yes"'],
    ['disableGC 1', { disableGC: 1 }, '"disableGC" must be true or false, got 1'],
    ['plugins empty', { plugins: [] }, '"plugins" must list at least one plugin'],
    ['plugins an object', { plugins: {} }, '"plugins" must be a list, got an object'],
    ['a plugin without type', { plugins: [{ type: 'bridge' }, { bridge: 'x' }] }, 'missing "plugins[1].type"'],
    ['a plugin that is a string', { plugins: ['bridge'] }, '"plugins[0]" must be an object, got string "bridge"'],
    ['loadOnlyInlinedPlugins without plugins', { plugins: undefined as never, loadOnlyInlinedPlugins: true }, '"plugins" is required when loadOnlyInlinedPlugins is true'],
  ])('refuses %s with code 7', (_what, extra, details) => {
    const err = catchCniError(() => parseNetConfList(list(extra)));
    expect(err.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(err.details).toBe(details);
  });

  it('refuses malformed JSON with code 6 and a missing name with code 7', () => {
    expect(catchCniError(() => parseNetConfList('{')).toJson('1.1.0')).toMatchObject({ code: 6, msg: 'error unmarshall network config list' });
    expect(catchCniError(() => parseNetConfList('{"plugins":[{"type":"x"}]}')).msg).toBe('missing network name');
  });
});

describe('netConfListFromConf', () => {
  it('wraps a single config as a one-plugin list', () => {
    const conf = { cniVersion: '0.4.0', name: 'n', type: 'bridge', bridge: 'cni0' };
    expect(netConfListFromConf(conf)).toEqual({
      cniVersion: '0.4.0',
      name: 'n',
      disableCheck: false,
      disableGC: false,
      loadOnlyInlinedPlugins: false,
      plugins: [conf],
    });
  });

  it('refuses a config without type', () => {
    expect(catchCniError(() => netConfListFromConf({ name: 'n' })).details).toBe('missing "type"');
  });
});
