import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../lib/cni/errors.ts';
import { loadNetwork } from './netconf-loader.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-netconf-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, value: unknown): void {
  writeFileSync(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
}

const list = (name: string, extra: object = {}) => ({ cniVersion: '1.1.0', name, plugins: [{ type: 'bridge' }], ...extra });

describe('loadNetwork', () => {
  it('finds a .conflist by network name and keeps its bytes for the cache', () => {
    write('10-a.conflist', list('a'));
    const text = JSON.stringify(list('b', { plugins: [{ type: 'bridge' }, { type: 'portmap', capabilities: { portMappings: true } }] }));
    write('20-b.conflist', text);
    const loaded = loadNetwork(dir, 'b');
    expect(loaded.file).toBe(join(dir, '20-b.conflist'));
    expect(loaded.list.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap']);
    expect(loaded.bytes.toString()).toBe(text);
  });

  it('takes the first file in name order when two lists share a name', () => {
    write('20-x.conflist', list('n', { plugins: [{ type: 'second' }] }));
    write('10-x.conflist', list('n', { plugins: [{ type: 'first' }] }));
    expect(loadNetwork(dir, 'n').list.plugins[0]!.type).toBe('first');
  });

  it('prefers a .conflist over a .conf of the same name', () => {
    write('00-n.conf', { cniVersion: '1.0.0', name: 'n', type: 'single' });
    write('99-n.conflist', list('n', { plugins: [{ type: 'listed' }] }));
    expect(loadNetwork(dir, 'n').list.plugins[0]!.type).toBe('listed');
  });

  it('upconverts a .conf or .json to a one-plugin list, caching the re-serialised list', () => {
    const conf = { cniVersion: '0.4.0', name: 'single', type: 'ptp', ipMasq: true };
    write('10-single.json', conf);
    const loaded = loadNetwork(dir, 'single');
    expect(loaded.list).toMatchObject({ name: 'single', cniVersion: '0.4.0', disableCheck: false, disableGC: false, plugins: [conf] });
    expect(JSON.parse(loaded.bytes.toString())).toEqual({ name: 'single', cniVersion: '0.4.0', plugins: [conf] });
  });

  it('selects the highest version from cniVersion and cniVersions that weft implements', () => {
    write('a.conflist', list('v', { cniVersion: '0.4.0', cniVersions: ['1.0.0', '1.1.0', '9.0.0'] }));
    expect(loadNetwork(dir, 'v').list.cniVersion).toBe('1.1.0');
  });

  it('reads disableCheck and disableGC, also as strings', () => {
    write('a.conflist', list('d', { disableCheck: 'True', disableGC: true }));
    expect(loadNetwork(dir, 'd').list).toMatchObject({ disableCheck: true, disableGC: true });
  });

  it('appends plugins from the sibling folder unless loadOnlyInlinedPlugins', () => {
    mkdirSync(join(dir, 'sib'));
    writeFileSync(join(dir, 'sib', '2.conf'), JSON.stringify({ type: 'two' }));
    writeFileSync(join(dir, 'sib', '1.conf'), JSON.stringify({ type: 'one' }));
    writeFileSync(join(dir, 'sib', 'ignored.json'), JSON.stringify({ type: 'no' }));
    write('a.conflist', { cniVersion: '1.1.0', name: 'sib' });
    expect(loadNetwork(dir, 'sib').list.plugins.map((p) => p.type)).toEqual(['one', 'two']);
    write('a.conflist', list('sib', { loadOnlyInlinedPlugins: true }));
    expect(loadNetwork(dir, 'sib').list.plugins.map((p) => p.type)).toEqual(['bridge']);
  });

  it('refuses a list that ends up with no plugins', () => {
    write('a.conflist', { cniVersion: '1.1.0', name: 'empty' });
    expect(() => loadNetwork(dir, 'empty')).toThrow(/no plugin configs found/);
  });

  it('says when the directory holds no configurations, or none of that name', () => {
    expect(() => loadNetwork(join(dir, 'missing'), 'x')).toThrow(`no net configurations found in ${join(dir, 'missing')}`);
    write('a.conflist', list('a'));
    expect(() => loadNetwork(dir, 'x')).toThrow(`no net configuration with name "x" in ${dir}`);
  });

  it('fails on a broken file, naming it and keeping the parser\'s code', () => {
    write('10-bad.conflist', '{"name": ');
    write('20-good.conflist', list('good'));
    expect(() => loadNetwork(dir, 'good')).toThrow(
      expect.objectContaining({ code: ErrorCode.DecodingFailure, msg: expect.stringContaining('10-bad.conflist') }),
    );
    write('10-bad.conflist', list('bad', { plugins: [{ type: 'a/b' }] }));
    expect(() => loadNetwork(dir, 'good')).toThrow(expect.objectContaining({ code: ErrorCode.InvalidNetworkConfig }));
  });

  it('reads files with a bound: one larger than 1 MiB is code 7, naming it', () => {
    write('10-big.conflist', `${JSON.stringify(list('big'))}${' '.repeat(2 << 20)}`);
    expect(() => loadNetwork(dir, 'big')).toThrow(expect.objectContaining({
      code: ErrorCode.InvalidNetworkConfig, msg: `error reading ${join(dir, '10-big.conflist')}`, details: expect.stringMatching(/is larger than 1048576 bytes$/),
    }));
  });

  it('ignores directories and other extensions', () => {
    mkdirSync(join(dir, 'dir.conflist'));
    write('notes.txt', 'x');
    write('a.conflist', list('a'));
    expect(loadNetwork(dir, 'a').list.name).toBe('a');
  });
});
