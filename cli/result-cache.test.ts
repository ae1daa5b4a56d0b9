import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import { ResultCache, type CachedAttachment } from './result-cache.ts';

let dir: string;
let cache: ResultCache;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-cache-'));
  cache = new ResultCache(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const listBytes = Buffer.from('{"cniVersion":"1.1.0","name":"net1","plugins":[{"type":"x"}]}');
const result = { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] };
const entry: CachedAttachment = {
  network: 'net1',
  containerId: 'cnitool-0123456789abcdef0123',
  ifName: 'eth0',
  config: listBytes,
  netns: '/run/netns/x',
  cniArgs: [['IgnoreUnknown', '1']],
  capabilityArgs: { mac: '0a:58:0a:00:00:02' },
  result,
};

describe('ResultCache', () => {
  it('writes libcni\'s file name and JSON layout, private to root', () => {
    cache.save(entry);
    const file = join(dir, 'results', 'net1-cnitool-0123456789abcdef0123-eth0');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      kind: 'cniCacheV1',
      containerId: 'cnitool-0123456789abcdef0123',
      config: listBytes.toString('base64'),
      ifName: 'eth0',
      networkName: 'net1',
      netns: '/run/netns/x',
      cniArgs: [['IgnoreUnknown', '1']],
      capabilityArgs: { mac: '0a:58:0a:00:00:02' },
      result,
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'results')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'results'))).toEqual(['net1-cnitool-0123456789abcdef0123-eth0']);
  });

  it('leaves empty optional fields out, as Go\'s omitempty does', () => {
    cache.save({ network: 'n', containerId: 'c', ifName: 'eth0', config: listBytes, cniArgs: [], capabilityArgs: {} });
    expect(Object.keys(JSON.parse(readFileSync(cache.filePath({ network: 'n', containerId: 'c', ifName: 'eth0' }), 'utf8'))))
      .toEqual(['kind', 'containerId', 'config', 'ifName', 'networkName']);
  });

  it('reads back what it wrote, and lists it', () => {
    cache.save(entry);
    expect(cache.loadResult(entry)).toEqual(result);
    expect(cache.list()).toEqual([entry]);
  });

  it('reads a legacy cache file holding a bare result', () => {
    mkdirSync(join(dir, 'results'));
    writeFileSync(cache.filePath(entry), JSON.stringify(result));
    expect(cache.loadResult(entry)).toEqual(result);
    expect(cache.list()).toEqual([]);
  });

  it('answers undefined for a missing entry and code 5 for an unreadable one', () => {
    expect(cache.loadResult(entry)).toBeUndefined();
    mkdirSync(join(dir, 'results'));
    writeFileSync(cache.filePath(entry), '{not json');
    expect(() => cache.loadResult(entry)).toThrow(expect.objectContaining({ code: ErrorCode.IoFailure }));
  });

  it('removes an entry, and removing a missing one is not an error', () => {
    cache.save(entry);
    cache.remove(entry);
    expect(cache.loadResult(entry)).toBeUndefined();
    expect(() => cache.remove(entry)).not.toThrow();
  });

  it('lists entries sorted by file name, skipping files that are not cniCacheV1 entries', () => {
    cache.save({ ...entry, network: 'b' });
    cache.save({ ...entry, network: 'a', ifName: 'eth1' });
    writeFileSync(join(dir, 'results', 'garbage'), 'x');
    writeFileSync(join(dir, 'results', 'legacy'), JSON.stringify(result));
    writeFileSync(join(dir, 'results', 'noifname'), JSON.stringify({ kind: 'cniCacheV1', containerId: 'c', ifName: '', networkName: 'n' }));
    expect(cache.list().map((e) => `${e.network}/${e.ifName}`)).toEqual(['a/eth1', 'b/eth0']);
  });

  it('lists nothing when the directory does not exist', () => {
    expect(new ResultCache(join(dir, 'absent')).list()).toEqual([]);
  });

  it('refuses a key with an empty part', () => {
    expect(() => cache.filePath({ network: 'n', containerId: '', ifName: 'eth0' })).toThrow(CniError);
  });
});
