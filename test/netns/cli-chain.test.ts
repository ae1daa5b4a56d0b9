// The weft CLI end to end: the built dist/bin/weft runs a two-plugin configuration list against real
// namespaces this test made. The plugins are the recorder test plugin (lib/cni/testing/recorder-plugin.mjs): the
// first sets lo up in CNI_NETNS and returns a result, the second fails unless it is given prevResult.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { parseJsonOutput, type CommandResult } from './testing/command.ts';
import { runCli } from './testing/cni.ts';
import { createTempDir } from './testing/files.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { installRecorder, readInvocations, type Invocation } from '../../lib/cni/testing/recorder.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';

cleanupAfterAll();

const network = 'wt-chain';
let work: string;
let record: string;
let cacheDir: string;
let vars: Record<string, string>;
let nsA: Netns;
let nsB: Netns;

/** cnitool's container ID, computed independently of cli/runtime-conf.ts. */
const containerId = (ns: Netns) => `cnitool-${createHash('sha512').update(ns.path).digest('hex').slice(0, 20)}`;
const cacheFile = (ns: Netns, ifName = 'eth0') => join(cacheDir, 'results', `${network}-${containerId(ns)}-${ifName}`);
const loIsUp = (ns: Netns) => ns.ipJson<Array<{ flags: string[] }>>('link', 'show', 'lo')[0]!.flags.includes('UP');

function weft(...args: string[]): CommandResult {
  return runCli(args, vars);
}

function expectSuccess(result: CommandResult): void {
  expect(result.status, `${result.command}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
}

/** The recorder's calls since the last `takeCalls`. */
function takeCalls(): Invocation[] {
  const calls = readInvocations(record);
  rmSync(record, { force: true });
  return calls;
}

const summary = (calls: Invocation[]) => calls.map((call) => `${call.command} ${call.config.type}`);

describeAsRoot('weft CLI runs a configuration list', () => {
  beforeAll(() => {
    work = createTempDir('cli');
    record = join(work, 'record.jsonl');
    cacheDir = join(work, 'cache');
    const bin = join(work, 'bin');
    const netconf = join(work, 'net.d');
    mkdirSync(bin);
    mkdirSync(netconf);
    installRecorder(bin, ['wt-first', 'wt-second']);
    writeFileSync(join(netconf, '10-other.conflist'), JSON.stringify({ cniVersion: '1.1.0', name: 'other', plugins: [{ type: 'absent' }] }));
    writeFileSync(
      join(netconf, '20-chain.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        cniVersions: ['1.0.0', '1.1.0'],
        name: network,
        plugins: [
          { type: 'wt-first', record, interface: true, loopbackUp: true, address: '10.250.0.2/24', capabilities: { mac: true, portMappings: false } },
          { type: 'wt-second', record, requirePrevResult: true, address: '10.250.9.1/32' },
        ],
      }),
    );
    vars = {
      NETCONFPATH: netconf,
      CNI_PATH: bin,
      WEFT_CACHE_DIR: cacheDir,
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
      CAP_ARGS: JSON.stringify({ mac: '0a:58:0a:fa:00:02', portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }),
    };
    nsA = createNetns('cli');
    nsB = createNetns('cli');
  });

  const expectedResult = () => ({
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', sandbox: nsA.path }],
    ips: [{ address: '10.250.0.2/24', interface: 0 }, { address: '10.250.9.1/32' }],
  });

  it('add: runs the plugins in order, chains prevResult, prints the result and caches it', () => {
    expect(loIsUp(nsA)).toBe(false);
    const add = weft('add', network, nsA.path);
    expectSuccess(add);
    expect(parseJsonOutput(add)).toEqual(expectedResult());
    expect(loIsUp(nsA)).toBe(true);

    const [first, second, ...rest] = takeCalls();
    expect(rest).toEqual([]);
    expect([first!.command, first!.config.type, second!.command, second!.config.type]).toEqual(['ADD', 'wt-first', 'ADD', 'wt-second']);
    expect(first!.env).toMatchObject({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: containerId(nsA),
      CNI_NETNS: nsA.path,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
      CNI_PATH: vars.CNI_PATH,
    });
    // The highest version of cniVersion/cniVersions; runtimeConfig holds only the declared capability.
    expect(first!.config).toMatchObject({ name: network, cniVersion: '1.1.0', runtimeConfig: { mac: '0a:58:0a:fa:00:02' } });
    expect(first!.config).not.toHaveProperty('prevResult');
    expect(first!.config).not.toHaveProperty('capabilities');
    expect(second!.config.prevResult).toEqual({ ...expectedResult(), ips: [expectedResult().ips[0]] });

    const cached = JSON.parse(readFileSync(cacheFile(nsA), 'utf8'));
    expect(cached).toMatchObject({
      kind: 'cniCacheV1',
      containerId: containerId(nsA),
      ifName: 'eth0',
      networkName: network,
      netns: nsA.path,
      cniArgs: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web']],
      result: expectedResult(),
    });
    expect(JSON.parse(Buffer.from(cached.config, 'base64').toString()).name).toBe(network);
  });

  it('check: runs the plugins in order with the cached result, and reports a broken attachment', () => {
    expectSuccess(weft('check', network, nsA.path));
    const calls = takeCalls();
    expect(summary(calls)).toEqual(['CHECK wt-first', 'CHECK wt-second']);
    for (const call of calls) expect(call.config.prevResult).toEqual(expectedResult());

    nsA.ip('link', 'set', 'lo', 'down');
    const broken = weft('check', network, nsA.path);
    expect(broken.status).toBe(1);
    expect(parseJsonOutput(broken)).toEqual({ cniVersion: '1.1.0', code: 100, msg: 'plugin type="wt-first" failed (check): recorder: lo is not up' });
    expect(broken.stderr).toContain('weft check: plugin type="wt-first" failed (check)');
    expect(summary(takeCalls())).toEqual(['CHECK wt-first']);
    nsA.ip('link', 'set', 'lo', 'up');
  });

  it('status: asks every plugin', () => {
    expectSuccess(weft('status', network, nsA.path));
    const calls = takeCalls();
    expect(summary(calls)).toEqual(['STATUS wt-first', 'STATUS wt-second']);
    expect(calls[0]!.env).toMatchObject({ CNI_COMMAND: 'STATUS', CNI_CONTAINERID: '', CNI_NETNS: '' });
  });

  it('del: runs the plugins in reverse with the cached result, then removes the cache entry', () => {
    const del = weft('del', network, nsA.path);
    expectSuccess(del);
    expect(del.stdout).toBe('');
    const calls = takeCalls();
    expect(summary(calls)).toEqual(['DEL wt-second', 'DEL wt-first']);
    for (const call of calls) expect(call.config.prevResult).toEqual(expectedResult());
    expect(calls[0]!.env).toMatchObject({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: containerId(nsA), CNI_NETNS: nsA.path });
    expect(loIsUp(nsA)).toBe(false);
    expect(existsSync(cacheFile(nsA))).toBe(false);

    // With the entry gone a repeated DEL carries no prevResult, which the second plugin refuses.
    const again = weft('del', network, nsA.path);
    expect(again.status).toBe(1);
    expect(parseJsonOutput(again)).toMatchObject({ code: 7, msg: 'plugin type="wt-second" failed (delete): recorder: DEL without prevResult' });
    expect(summary(takeCalls())).toEqual(['DEL wt-second']);
  });

  it('gc: deletes the attachments not kept, then GCs every plugin with the valid ones', () => {
    expectSuccess(weft('add', network, nsA.path));
    expectSuccess(weft('add', network, nsB.path));
    takeCalls();

    expectSuccess(weft('gc', network, '--keep', nsA.path));
    const calls = takeCalls();
    expect(calls.map((call) => `${call.command} ${call.config.type} ${call.env.CNI_CONTAINERID}`)).toEqual([
      `DEL wt-second ${containerId(nsB)}`,
      `DEL wt-first ${containerId(nsB)}`,
      'GC wt-first ',
      'GC wt-second ',
    ]);
    const valid = [{ containerID: containerId(nsA), ifname: 'eth0' }];
    for (const gc of calls.slice(2)) expect(gc.config['cni.dev/valid-attachments']).toEqual(valid);
    expect(existsSync(cacheFile(nsA))).toBe(true);
    expect(existsSync(cacheFile(nsB))).toBe(false);
    expect(loIsUp(nsA)).toBe(true);
    expect(loIsUp(nsB)).toBe(false);

    expectSuccess(weft('del', network, nsA.path));
    takeCalls();
  });

  it('uses CNI_IFNAME, --ifname and --cache-dir', () => {
    const otherCache = join(work, 'cache2');
    expectSuccess(runCli(['add', network, nsA.path, '--ifname', 'net1', '--cache-dir', otherCache], { ...vars, CNI_IFNAME: 'net2' }));
    expect(takeCalls().map((call) => call.env.CNI_IFNAME)).toEqual(['net1', 'net1']);
    expect(existsSync(join(otherCache, 'results', `${network}-${containerId(nsA)}-net1`))).toBe(true);
    expectSuccess(runCli(['del', network, nsA.path], { ...vars, CNI_IFNAME: 'net1', WEFT_CACHE_DIR: otherCache }));
    expect(takeCalls().map((call) => call.config.prevResult === undefined)).toEqual([false, false]);
    expect(existsSync(join(otherCache, 'results', `${network}-${containerId(nsA)}-net1`))).toBe(false);
  });

  it('answers bad input with the error JSON and exit status 1, running no plugin', () => {
    const cases: Array<[string[], Record<string, string>, number, string]> = [
      [['add', 'missing', nsA.path], {}, 7, `no net configuration with name "missing" in ${vars.NETCONFPATH}`],
      [['add', network, nsA.path], { CNI_IFNAME: 'much-too-long-name' }, 4, 'interface name is too long'],
      [['add', network, nsA.path], { CAP_ARGS: '[1]' }, 4, 'invalid CAP_ARGS'],
      [['add', network, nsA.path], { CNI_ARGS: 'novalue' }, 4, 'invalid CNI_ARGS pair'],
      [['add', 'other', nsA.path], {}, 4, 'plugin type="absent" failed (add): failed to find plugin "absent"'],
    ];
    for (const [args, extra, code, msg] of cases) {
      const result = runCli(args, { ...vars, ...extra });
      expect(result.status, result.command).toBe(1);
      const error = parseJsonOutput<{ code: number; msg: string }>(result);
      expect(error.code, result.stdout).toBe(code);
      expect(error.msg).toContain(msg);
    }
    expect(takeCalls()).toEqual([]);
    expect(weft('add').status).toBe(2);
  });
});
