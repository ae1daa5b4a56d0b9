import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseNetConfList } from '../lib/cni/config.ts';
import { ErrorCode } from '../lib/cni/errors.ts';
import { rejectedCniError } from '../lib/cni/testing/catch-cni-error.ts';
import { installRecorder, readInvocations, type Invocation } from '../lib/cni/testing/recorder.ts';
import { addNetworkList, checkNetworkList, delNetworkList, gcNetworkList, statusNetworkList, type ChainOptions } from './chain.ts';
import type { LoadedNetwork } from './netconf-loader.ts';
import { ResultCache } from './result-cache.ts';
import type { RuntimeConf } from './runtime-conf.ts';

let dir: string;
let record: string;
let options: ChainOptions;
const stderr: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-chain-'));
  record = join(dir, 'record.jsonl');
  installRecorder(dir, ['first', 'second']);
  options = { cniPath: ['/nonexistent', dir], cache: new ResultCache(join(dir, 'cache')), env: { PATH: process.env.PATH, KEEP: 'me' }, log: (line) => stderr.push(line) };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function network(extra: object = {}, first: object = {}, second: object = {}): LoadedNetwork {
  const text = JSON.stringify({
    cniVersion: '1.1.0',
    name: 'chain',
    plugins: [
      { type: 'first', record, interface: true, address: '10.1.0.2/24', capabilities: { mac: true, ips: false }, ...first },
      { type: 'second', record, requirePrevResult: true, address: '10.9.0.1/32', ...second },
    ],
    ...extra,
  });
  return { list: parseNetConfList(text), bytes: Buffer.from(text), file: 'test' };
}

const rt: RuntimeConf = {
  containerId: 'cnitool-0123456789abcdef0123',
  netns: '/run/netns/chain',
  ifName: 'eth0',
  cniArgs: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web']],
  capabilityArgs: { mac: '0a:58:0a:01:00:02', ips: ['10.1.0.9/24'], portMappings: [] },
};

const added = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', sandbox: '/run/netns/chain' }],
  ips: [{ address: '10.1.0.2/24', interface: 0 }, { address: '10.9.0.1/32' }],
};

const summary = (invocations: Invocation[]) => invocations.map((call) => `${call.command} ${call.config.type}`);
const calls = () => summary(readInvocations(record));

/** Runs ADD, then `verb` for the same attachment; returns what `verb` ran. */
async function afterAdd(verb: typeof checkNetworkList): Promise<Invocation[]> {
  await addNetworkList(network(), rt, options);
  await verb(network(), rt, options);
  return readInvocations(record).slice(2);
}

describe('addNetworkList', () => {
  it('runs the plugins in order, each with the previous result, and caches the final one', async () => {
    const result = await addNetworkList(network(), rt, options);
    expect(result).toEqual(added);
    const [first, second] = readInvocations(record);
    expect(calls()).toEqual(['ADD first', 'ADD second']);
    expect(first!.env).toMatchObject({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: rt.containerId,
      CNI_NETNS: rt.netns,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
      CNI_PATH: `/nonexistent:${dir}`,
      KEEP: 'me',
    });
    expect(first!.config).toMatchObject({ name: 'chain', cniVersion: '1.1.0', runtimeConfig: { mac: '0a:58:0a:01:00:02' } });
    expect(first!.config).not.toHaveProperty('prevResult');
    expect(first!.config).not.toHaveProperty('capabilities');
    expect(second!.config).not.toHaveProperty('runtimeConfig');
    expect(second!.config.prevResult).toEqual({ cniVersion: '1.1.0', interfaces: added.interfaces, ips: [added.ips[0]] });
    const cached = JSON.parse(readFileSync(options.cache.filePath({ network: 'chain', containerId: rt.containerId, ifName: 'eth0' }), 'utf8'));
    expect(cached).toMatchObject({ kind: 'cniCacheV1', networkName: 'chain', netns: rt.netns, cniArgs: rt.cniArgs, capabilityArgs: rt.capabilityArgs, result: added });
    expect(Buffer.from(cached.config, 'base64').equals(network().bytes)).toBe(true);
  });

  it('stops at a failing plugin, keeps its code, names it, and caches nothing', async () => {
    const err = await rejectedCniError(addNetworkList(network({}, { fail: 'ADD' }), rt, options));
    expect(err.code).toBe(ErrorCode.TryAgainLater);
    expect(err.msg).toBe('plugin type="first" failed (add): recorder: told to fail ADD');
    expect(calls()).toEqual(['ADD first']);
    expect(options.cache.list()).toEqual([]);
  });

  it('says which plugin it could not find in CNI_PATH', async () => {
    const err = await rejectedCniError(addNetworkList(network({}, { type: 'absent' }), rt, options));
    expect(err.msg).toMatch(/^plugin type="absent" failed \(add\): failed to find plugin "absent"/);
  });

  it('hands results on in the list\'s version', async () => {
    const result = await addNetworkList(network({ cniVersion: '0.4.0' }), rt, options);
    expect(result).toEqual({ ...added, cniVersion: '0.4.0', ips: added.ips.map((ip) => ({ version: '4', ...ip })), dns: {} });
    expect(readInvocations(record)[1]!.config.prevResult).toMatchObject({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.2/24' }] });
  });
});

describe('checkNetworkList', () => {
  it('runs the plugins in order with the cached ADD result', async () => {
    const checks = await afterAdd(checkNetworkList);
    expect(summary(checks)).toEqual(['CHECK first', 'CHECK second']);
    for (const call of checks) expect(call.config.prevResult).toEqual(added);
  });

  it('does nothing with disableCheck, and refuses versions before 0.4.0 with code 1', async () => {
    await checkNetworkList(network({ disableCheck: true }), rt, options);
    expect(calls()).toEqual([]);
    const err = await rejectedCniError(checkNetworkList(network({ cniVersion: '0.3.1' }), rt, options));
    expect(err.code).toBe(ErrorCode.IncompatibleVersion);
    expect(err.msg).toBe('configuration version "0.3.1" does not support the CHECK command');
  });

  it('fails when the cached result cannot be read', async () => {
    await addNetworkList(network(), rt, options);
    const file = options.cache.filePath({ network: 'chain', containerId: rt.containerId, ifName: 'eth0' });
    const cached = JSON.parse(readFileSync(file, 'utf8'));
    options.cache.save({ network: 'chain', containerId: rt.containerId, ifName: 'eth0', config: Buffer.from(''), result: { ...cached.result, cniVersion: '7.0.0' } });
    const err = await rejectedCniError(checkNetworkList(network(), rt, options));
    expect(err.msg).toMatch(/^failed to get network "chain" cached result/);
  });
});

describe('delNetworkList', () => {
  it('runs the plugins in reverse with the cached ADD result, then drops the cache entry', async () => {
    const dels = await afterAdd(delNetworkList);
    expect(summary(dels)).toEqual(['DEL second', 'DEL first']);
    for (const call of dels) expect(call.config.prevResult).toEqual(added);
    expect(options.cache.list()).toEqual([]);
  });

  it('runs without prevResult when nothing is cached, and keeps the entry when a plugin fails', async () => {
    await delNetworkList(network({}, {}, { requirePrevResult: false }), rt, options);
    expect(readInvocations(record).map((call) => call.config.prevResult)).toEqual([undefined, undefined]);
    await addNetworkList(network(), rt, options);
    await expect(delNetworkList(network({}, { fail: 'DEL' }), rt, options)).rejects.toThrow(/type="first" failed \(delete\)/);
    expect(options.cache.list()).toHaveLength(1);
  });

  it('sends no prevResult before 0.4.0', async () => {
    await addNetworkList(network({ cniVersion: '0.3.1' }), rt, options);
    await delNetworkList(network({ cniVersion: '0.3.1' }, {}, { requirePrevResult: false }), rt, options);
    expect(readInvocations(record).slice(2).map((call) => call.config.prevResult)).toEqual([undefined, undefined]);
  });
});

describe('gcNetworkList', () => {
  const other: RuntimeConf = { ...rt, containerId: 'other', netns: '/run/netns/other', cniArgs: [], capabilityArgs: {} };

  it('deletes stale cached attachments of this network, then GCs every plugin with the valid ones', async () => {
    await addNetworkList(network(), rt, options);
    await addNetworkList(network(), other, options);
    const elsewhere = network();
    elsewhere.list.name = 'elsewhere';
    await addNetworkList(elsewhere, other, options);
    rmSync(record);

    await gcNetworkList(network(), [{ containerID: rt.containerId, ifname: 'eth0' }], options);
    const gcCalls = readInvocations(record);
    expect(gcCalls.map((call) => `${call.command} ${call.config.type} ${call.env.CNI_CONTAINERID}`)).toEqual([
      'DEL second other', 'DEL first other', 'GC first ', 'GC second ',
    ]);
    expect(gcCalls[0]!.env).toMatchObject({ CNI_NETNS: '/run/netns/other', CNI_ARGS: '' });
    const valid = [{ containerID: rt.containerId, ifname: 'eth0' }];
    for (const gc of gcCalls.slice(2)) {
      expect(gc.config).toMatchObject({ name: 'chain', cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid });
      expect(gc.env).toMatchObject({ CNI_COMMAND: 'GC', CNI_CONTAINERID: '', CNI_NETNS: '', CNI_IFNAME: '', CNI_PATH: `/nonexistent:${dir}` });
    }
    expect(options.cache.list().map((entry) => `${entry.network} ${entry.containerId}`)).toEqual([`chain ${rt.containerId}`, 'elsewhere other']);
  });

  it('goes on past failures and reports them together', async () => {
    await addNetworkList(network(), rt, options);
    const failing = network({}, { fail: 'DEL' }, { fail: 'GC' });
    const err = await rejectedCniError(gcNetworkList(failing, [], options));
    expect(err.message).toMatch(/failed to delete stale attachment cnitool-0123456789abcdef0123 eth0: plugin type="first" failed \(delete\).*; plugin type="second" failed \(gc\)/);
    expect(calls().slice(2)).toEqual(['DEL second', 'DEL first', 'GC first', 'GC second']);
  });

  it('does nothing with disableGC; before 1.1.0 only deletes stale attachments', async () => {
    await addNetworkList(network({ disableGC: true }), rt, options);
    await gcNetworkList(network({ disableGC: true }), [], options);
    expect(calls()).toEqual(['ADD first', 'ADD second']);
    await gcNetworkList(network({ cniVersion: '1.0.0' }), [], options);
    expect(calls().slice(2)).toEqual(['DEL second', 'DEL first']);
  });
});

describe('statusNetworkList', () => {
  it('asks every plugin in order without attachment variables', async () => {
    expect(await statusNetworkList(network(), options)).toBe(true);
    const status = readInvocations(record);
    expect(summary(status)).toEqual(['STATUS first', 'STATUS second']);
    expect(status[0]!.env).toMatchObject({ CNI_CONTAINERID: '', CNI_NETNS: '', CNI_IFNAME: '' });
    expect(status[0]!.config).toMatchObject({ name: 'chain', cniVersion: '1.1.0' });
  });

  it('stops at the first plugin that is not available', async () => {
    const err = await rejectedCniError(statusNetworkList(network({}, { fail: 'STATUS' }), options));
    expect(err.msg).toBe('plugin type="first" failed (status): recorder: told to fail STATUS');
    expect(calls()).toEqual(['STATUS first']);
  });

  it('asks nothing before 1.1.0', async () => {
    expect(await statusNetworkList(network({ cniVersion: '1.0.0' }), options)).toBe(false);
    expect(calls()).toEqual([]);
  });
});
