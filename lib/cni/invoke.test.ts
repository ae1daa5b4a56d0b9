// Delegation against real processes: a raw stand-in plugin (testing/raw-plugin.mjs) that can misbehave,
// and weft's echo test plugin built on skel.ts, run both as an executable and in-process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CniError, ErrorCode } from './errors.ts';
import {
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateEnv,
  delegateGc,
  delegateStatus,
  execPlugin,
  execPluginWithResult,
  findInPath,
  getVersionInfo,
  type DelegateOptions,
} from './invoke.ts';
import { ALL_VERSIONS } from './version.ts';
import { echoPlugin } from './testing/echo-plugin.ts';
import { buildEchoPlugin } from './testing/build-echo-plugin.ts';
import { catchCniError, rejectedCniError } from './testing/catch-cni-error.ts';

const rawPluginSource = fileURLToPath(new URL('./testing/raw-plugin.mjs', import.meta.url));

let root: string;
let dirA: string;
let dirB: string;

function installRaw(dir: string, name: string, mode = 0o755): string {
  const path = join(dir, name);
  copyFileSync(rawPluginSource, path);
  chmodSync(path, mode);
  return path;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'weft-invoke-'));
  dirA = join(root, 'a');
  dirB = join(root, 'b');
  mkdirSync(dirA);
  mkdirSync(dirB);
  installRaw(dirA, 'raw');
  installRaw(dirB, 'raw');
  installRaw(dirB, 'only-b');
  mkdirSync(join(dirA, 'dup'));
  installRaw(dirB, 'dup');
  installRaw(dirA, 'not-executable', 0o644);
  await buildEchoPlugin(join(dirA, 'echo'));
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH,
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'c0ffee',
    CNI_NETNS: '/run/netns/c1',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1',
    CNI_PATH: `${dirA}:${dirB}`,
    ...extra,
  };
}

function behave(behaviour: object) {
  return { WEFT_TEST_PLUGIN: JSON.stringify(behaviour) };
}

const netconf = (extra: object = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'raw', ...extra });

describe('findInPath', () => {
  it('takes the first directory that has the plugin', () => {
    expect(findInPath('raw', [dirA, dirB])).toBe(join(dirA, 'raw'));
    expect(findInPath('raw', [dirB, dirA])).toBe(join(dirB, 'raw'));
    expect(findInPath('only-b', [dirA, dirB])).toBe(join(dirB, 'only-b'));
  });

  it('skips anything that is not a regular file', () => {
    expect(findInPath('dup', [dirA, dirB])).toBe(join(dirB, 'dup'));
  });

  it('names the plugin and the path when it is nowhere (code 4)', () => {
    const err = catchCniError(() => findInPath('nope', [dirA, dirB]));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
    expect(err.msg).toBe(`failed to find plugin "nope" in path [${dirA} ${dirB}]`);
  });

  it.each([
    ['', [dirA], ErrorCode.InvalidNetworkConfig, 'no plugin name provided'],
    ['../a/raw', [dirA], ErrorCode.InvalidNetworkConfig, 'invalid plugin name: ../a/raw'],
    ['raw', [], ErrorCode.InvalidEnvironment, 'no paths provided'],
  ])('refuses %j in %j', (plugin, paths, code, msg) => {
    expect(catchCniError(() => findInPath(plugin, paths)).toJson('1.1.0')).toMatchObject({ code, msg });
  });
});

describe('execPlugin', () => {
  const raw = () => join(dirA, 'raw');

  it('passes the environment and the config, and returns stdout', async () => {
    const record = join(root, 'record-exec.json');
    const stdout = await execPlugin(raw(), netconf(), { env: env(behave({ ADD: { record, stdout: 'hello' } })) });
    expect(stdout).toBe('hello');
    const seen = JSON.parse(readFileSync(record, 'utf8')) as { env: Record<string, string>; stdin: string };
    expect(seen.stdin).toBe(netconf());
    expect(seen.env).toMatchObject({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/c1', CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1', CNI_PATH: `${dirA}:${dirB}` });
  });

  it("sends the plugin's stderr to the log, line by line", async () => {
    const lines: string[] = [];
    await execPlugin(raw(), netconf(), { env: env(behave({ '*': { stderr: 'one\ntwo\n' } })), log: (line) => lines.push(line) });
    expect(lines).toEqual(['one', 'two']);
  });

  it("keeps the code of the plugin's error JSON", async () => {
    const error = { cniVersion: '1.0.0', code: 11, msg: 'busy', details: 'lock held' };
    const err = await rejectedCniError(execPlugin(raw(), netconf(), { env: env(behave({ '*': { stdout: error, exitCode: 1 } })) }));
    expect(err.toJson('1.0.0')).toEqual(error);
  });

  it.each([
    [{ exitCode: 1 }, 'netplugin failed with no error message: exit status 1'],
    [{ exitCode: 2, stderr: 'panic: oops\n' }, 'netplugin failed: "panic: oops\\n": exit status 2'],
    [{ exitCode: 1, stdout: 'garbage' }, 'netplugin failed but error parsing its diagnostic message "garbage"'],
    [{ signal: 'SIGKILL' }, 'netplugin failed with no error message: signal: SIGKILL'],
    [{ exitCode: 3, stdout: { msg: 'no code given' } }, 'no code given'],
  ])('reports a failure without a usable error JSON as code 104: %j', async (behaviour, msg) => {
    const err = await rejectedCniError(execPlugin(raw(), netconf(), { env: env(behave({ '*': behaviour })), log: () => {} }));
    expect(err.code).toBe(ErrorCode.DelegateFailure);
    expect(err.msg).toBe(msg);
  });

  it('reports a plugin it cannot execute as code 104', async () => {
    const err = await rejectedCniError(execPlugin(join(dirA, 'not-executable'), netconf(), { env: env() }));
    expect(err.code).toBe(ErrorCode.DelegateFailure);
    expect(err.msg).toBe(`failed to execute plugin ${join(dirA, 'not-executable')}`);
    expect(err.details).toContain('EACCES');
  });

  it('waits for a plugin binary that is being written (text file busy)', async () => {
    const busy = installRaw(root, 'busy');
    const writer = openSync(busy, 'a');
    const released = new Promise<void>((resolve) => setTimeout(() => { closeSync(writer); resolve(); }, 300));
    const stdout = await execPlugin(busy, netconf(), { env: env(behave({ '*': { stdout: 'ran' } })) });
    await released;
    expect(stdout).toBe('ran');
  });
});

describe('execPluginWithResult', () => {
  const raw = () => join(dirA, 'raw');

  it("reads a result without cniVersion in the config's version", async () => {
    const result = { ips: [{ version: '4', address: '10.1.0.5/24' }] };
    const read = await execPluginWithResult(raw(), netconf({ cniVersion: '0.4.0' }), { env: env(behave({ ADD: { stdout: result } })) });
    expect(read).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.5/24' }], dns: {} });
  });

  it('keeps the version the plugin wrote', async () => {
    const result = { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24' }] };
    const read = await execPluginWithResult(raw(), netconf({ cniVersion: '0.4.0' }), { env: env(behave({ ADD: { stdout: result } })) });
    expect(read).toEqual(result);
  });

  it.each([
    ['not json', 'failed to decode result of'],
    [JSON.stringify({ cniVersion: '1.0.0', ips: [{ address: 'x' }] }), 'invalid result of'],
  ])('refuses unreadable output %j with code 6', async (stdout, msg) => {
    const err = await rejectedCniError(execPluginWithResult(raw(), netconf(), { env: env(behave({ ADD: { stdout } })) }));
    expect(err.code).toBe(ErrorCode.DecodingFailure);
    expect(err.msg).toBe(`${msg} ${raw()}`);
  });
});

describe('delegation', () => {
  it.each([
    ['ADD', delegateAdd],
    ['DEL', delegateDel],
    ['CHECK', delegateCheck],
    ['GC', delegateGc],
    ['STATUS', delegateStatus],
  ] as const)('%s runs the delegate from CNI_PATH with CNI_COMMAND set and the rest inherited', async (verb, delegate) => {
    const record = join(root, `record-${verb}.json`);
    const stdout = verb === 'ADD' ? { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24' }] } : undefined;
    // The caller runs some other verb: the delegate must see its own.
    const caller = env({ CNI_COMMAND: verb === 'DEL' ? 'ADD' : 'DEL', ...behave({ [verb]: { record, stdout } }) });
    await delegate('only-b', netconf(), { env: caller });
    const seen = JSON.parse(readFileSync(record, 'utf8')) as { env: Record<string, string>; stdin: string };
    expect(seen.env.CNI_COMMAND).toBe(verb);
    expect(seen.env.CNI_CONTAINERID).toBe('c0ffee');
    expect(seen.env.CNI_PATH).toBe(caller.CNI_PATH);
    expect(seen.stdin).toBe(netconf());
  });

  it('gives ADD the result in the current shape', async () => {
    const result = { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.0.5/24', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }] };
    const read = await delegateAdd('raw', netconf({ cniVersion: '0.3.1' }), { env: env(behave({ ADD: { stdout: result } })) });
    expect(read).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }] });
  });

  it('fails with code 4 when the delegate is not in CNI_PATH', async () => {
    const err = await rejectedCniError(delegateAdd('host-local', netconf(), { env: env() }));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
    expect(err.msg).toContain('failed to find plugin "host-local"');
  });

  it("keeps the delegate's error code", async () => {
    const error = { code: 7, msg: 'invalid range set', details: 'subnet overlaps' };
    const err = await rejectedCniError(delegateDel('raw', netconf(), { env: env(behave({ DEL: { stdout: error, exitCode: 1 } })) }));
    expect(err).toBeInstanceOf(CniError);
    expect(err.toJson('1.0.0')).toEqual({ cniVersion: '1.0.0', ...error });
  });

  it('sets CNI_COMMAND and nothing else in the environment', () => {
    expect(delegateEnv({ A: '1', CNI_COMMAND: 'ADD' }, 'DEL')).toEqual({ A: '1', CNI_COMMAND: 'DEL' });
  });
});

describe('in-process delegates behave exactly like their executable', () => {
  const result = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.5/24', gateway: '10.1.0.1' }], dns: { nameservers: ['10.1.0.1'] } };
  const current = { cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }], dns: { nameservers: ['10.1.0.1'] } };
  const config = (extra: object) => JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'echo', ...extra });
  const cases: [string, string, object][] = [
    ['a 0.4.0 result', config({ cniVersion: '0.4.0', testResult: result }), { read: current, lines: ['echo-plugin ADD n'] }],
    ['a 1.1.0 result', config({ cniVersion: '1.1.0', testResult: { ...result, cniVersion: '1.1.0' } }), { read: current }],
    ['an error with its own code', config({ testError: { code: 11, msg: 'later', details: 'd' } }), { error: { code: 11, msg: 'later', details: 'd' }, lines: ['echo-plugin ADD n'] }],
    ['a bad config', config({ testResult: { ips: 'x' } }), { error: { code: 7, details: '"testResult.ips" must be a list, got string "x"' }, lines: [] }],
    ['an unsupported version', config({ cniVersion: '0.9.0' }), { error: { code: 1, msg: 'incompatible CNI versions' } }],
    ['malformed JSON', '{"name":', { error: { code: 6, msg: 'error unmarshall network config' } }],
  ];

  async function outcome(stdin: string, options: Omit<DelegateOptions, 'env'>) {
    const lines: string[] = [];
    try {
      const read = await delegateAdd('echo', stdin, { env: env(), log: (line) => lines.push(line), ...options });
      return { read, lines };
    } catch (err) {
      return { error: (err as CniError).toJson('x'), lines };
    }
  }

  it.each(cases)('for %s', async (_what, stdin, expected) => {
    const executable = await outcome(stdin, {});
    const inProcess = await outcome(stdin, { inProcess: { echo: echoPlugin } });
    expect(executable).toMatchObject(expected);
    expect(inProcess).toEqual(executable);
  });

  it('runs the in-process plugin without looking in CNI_PATH', async () => {
    const stdin = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'echo' });
    const lines: string[] = [];
    await delegateCheck('echo', stdin, { env: env({ CNI_PATH: '/nonexistent' }), inProcess: { echo: echoPlugin }, log: (l) => lines.push(l) });
    expect(lines).toEqual(['echo-plugin CHECK n']);
  });
});

describe('getVersionInfo', () => {
  it("reads a skel plugin's VERSION reply", async () => {
    expect(await getVersionInfo(join(dirA, 'echo'), { PATH: process.env.PATH })).toEqual({ cniVersion: '1.1.0', supportedVersions: [...ALL_VERSIONS] });
  });

  it('takes a plugin that does not know VERSION for a 0.1.0 plugin', async () => {
    const reply = { stdout: { code: 4, msg: 'unknown CNI_COMMAND: VERSION' }, exitCode: 1 };
    expect(await getVersionInfo(join(dirA, 'raw'), { PATH: process.env.PATH, ...behave({ VERSION: reply }) })).toEqual({
      cniVersion: '0.1.0',
      supportedVersions: ['0.1.0'],
    });
  });

  it('sends the placeholders older skeletons require', async () => {
    const record = join(root, 'record-version.json');
    await getVersionInfo(join(dirA, 'raw'), { PATH: process.env.PATH, ...behave({ VERSION: { record, stdout: { cniVersion: '0.2.0' } } }) });
    const seen = JSON.parse(readFileSync(record, 'utf8')) as { env: Record<string, string>; stdin: string };
    expect(seen.stdin).toBe('{"cniVersion":"1.1.0"}');
    expect(seen.env).toMatchObject({ CNI_COMMAND: 'VERSION', CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy', CNI_PATH: 'dummy' });
  });

  it('refuses an unreadable reply with code 6', async () => {
    const err = await rejectedCniError(getVersionInfo(join(dirA, 'raw'), { PATH: process.env.PATH, ...behave({ VERSION: { stdout: '{}' } }) }));
    expect(err.code).toBe(ErrorCode.DecodingFailure);
  });
});
