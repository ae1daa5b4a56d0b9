// weft's plugin launchers and weftd's plugin host (lib/resident, daemon/plugin-host), against the kernel:
// which calls weftd serves and which the launcher runs itself (no socket, a stale one, weftd stopped, another
// build, another view of the files), what a killed weftd leaves, concurrency across both paths, and what the
// socket refuses. Every call here goes through `ip netns exec HOST`, and every weftd is started that way too:
// two processes with mount namespaces of their own in one network namespace, which must still meet.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  encodeFrame, encodeRequest, FrameReader, FrameType, maxFrameBytes, protocolVersion, type Frame,
} from '../../lib/resident/protocol.ts';
import { exchange } from '../../lib/resident/testing/exchange.ts';
import { BridgeHost, createContainer, ports, weftBinDir, weftChains, type AddResult, type Attachment } from './testing/bridge.ts';
import { repoRoot } from './testing/cni.ts';
import { cleanEnv, describeFailure, run, runAsync, type CommandResult } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { installRecorder, readInvocations } from '../../lib/cni/testing/recorder.ts';
import { pluginSocket, scrape, startPluginHost, type PluginHostProcess } from './testing/plugin-host.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';

cleanupAfterAll();

const bridgeConf = (host: BridgeHost, subnet = '10.97.0.0/16') =>
  host.config({ isDefaultGateway: true, ipMasq: true, ipam: { type: 'host-local', subnet } });

function withWeftd(host: BridgeHost): PluginHostProcess {
  return startPluginHost(host.netns, createTempDir('resident'), false);
}

const served = (host: BridgeHost) => scrape(host.netns, 'weft_plugin_calls_total');
const declined = (host: BridgeHost, reason: string) => scrape(host.netns, `weft_plugin_calls_declined_total{reason="${reason}"}`);

function buildOf(daemon: PluginHostProcess): string {
  return /"build":"([0-9a-f]+)"/.exec(readFileSync(daemon.log, 'utf8'))![1]!;
}

/** What the host holds of attachments: bridge ports, IPAM allocations, weft's nftables chains. */
function attachmentState(host: BridgeHost) {
  return { ports: ports(host.netns), allocations: host.allocations(), chains: weftChains(host.netns) };
}

function runAll(host: BridgeHost, command: 'ADD' | 'DEL', attachments: Attachment[], config: unknown, plugin?: string): Promise<CommandResult[]> {
  return Promise.all(attachments.map((attachment) => {
    const { file, args, env, input } = host.invocation(command, attachment, config, plugin ? { plugin } : {});
    return runAsync(file, args, { env, input, timeoutMs: 120_000 });
  }));
}

const text = (frame: Frame | undefined) => frame?.payload.toString('utf8');

describeAsRoot('plugin launchers and weftd', () => {
  it('serves ADD, CHECK and DEL in weftd when it runs in the caller’s namespace, results as the Node plugin gives them', () => {
    const host = new BridgeHost();
    const container = createContainer();
    const conf = bridgeConf(host);
    withWeftd(host);
    const result = host.add({ containerId: 'a', netns: container }, conf);
    host.ok('CHECK', { containerId: 'a', netns: container }, { ...conf, prevResult: result });
    host.ok('DEL', { containerId: 'a', netns: container }, conf);
    expect(served(host)).toBe(3);
    expect(declined(host, 'view')).toBe(0);
  });

  it('runs a delegate that is not weft’s as a process with the call’s own environment, and passes the plugin’s log lines on', () => {
    const host = new BridgeHost();
    withWeftd(host);
    const bin = createTempDir('resident-delegate');
    installRecorder(bin, ['wtrec']);
    const record = join(bin, 'record.jsonl');
    const conf = host.config({ ipMasq: true, ipMasqBackend: 'iptables', ipam: { type: 'wtrec' }, record, address: '10.93.0.5/24' });
    const container = createContainer();
    const result = host.run('ADD', { containerId: 'd', netns: container }, conf, { path: `${weftBinDir}:${bin}`, wrapper: ['env', 'WEFT_TEST_MARK=call-d'] });
    expect(result.status, describeFailure(result)).toBe(0);
    expect(result.stderr).toContain('bridge: ipMasqBackend "iptables": weft masquerades with nftables');
    const [invocation] = readInvocations(record);
    expect(invocation).toMatchObject({ command: 'ADD', env: { WEFT_TEST_MARK: 'call-d', CNI_CONTAINERID: 'd', CNI_NETNS: container.path } });
    expect(served(host)).toBe(1);
  });

  it('falls back to the Node plugin with no socket, with a stale socket file, and with weftd stopped between calls', () => {
    const host = new BridgeHost();
    const conf = bridgeConf(host);
    const one = createContainer();
    expect(existsSync(pluginSocket(host.netns))).toBe(false);
    host.add({ containerId: 'one', netns: one }, conf);
    // A socket file nobody listens on (its weftd was killed): connection refused.
    const socket = pluginSocket(host.netns);
    const script = `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`;
    run(process.execPath, ['-e', script]);
    expect(lstatSync(socket).isSocket()).toBe(true);
    const two = createContainer();
    host.add({ containerId: 'two', netns: two }, conf);
    // weftd takes the stale path over and serves; stopped, the next call falls back again.
    const daemon = withWeftd(host);
    const three = createContainer();
    host.add({ containerId: 'three', netns: three }, conf);
    expect(served(host)).toBe(1);
    daemon.stop();
    expect(existsSync(socket)).toBe(false);
    for (const [id, ns] of [['one', one], ['two', two], ['three', three]] as const) host.ok('DEL', { containerId: id, netns: ns }, conf);
    expect(host.allocations()).toEqual([]);
    expect(ports(host.netns)).toEqual([]);
  });

  it('falls back when the launcher is of another build (plugins upgraded, weftd not restarted)', () => {
    const host = new BridgeHost();
    const conf = bridgeConf(host);
    const daemon = withWeftd(host);
    const bin = createTempDir('resident-build');
    mkdirSync(join(bin, 'weft-plugins'));
    for (const name of ['bridge', 'host-local']) copyFileSync(join(weftBinDir, 'weft-plugins', name), join(bin, 'weft-plugins', name));
    copyFileSync(join(weftBinDir, 'host-local'), join(bin, 'host-local'));
    execFileSync('cc', ['-O2', '-DWEFT_PLUGIN_NAME="bridge"', '-DWEFT_BUILD_ID="0123456789abcdef"', '-o', join(bin, 'bridge'),
      join(repoRoot, 'lib/resident/native/launcher.c')]);
    const other = host.using(bin);
    const container = createContainer();
    other.add({ containerId: 'up', netns: container }, conf);
    expect(declined(host, 'build')).toBe(1);
    expect(served(host)).toBe(0);
    other.ok('DEL', { containerId: 'up', netns: container }, conf);
    expect(readFileSync(daemon.log, 'utf8')).toContain('launcher build 0123456789abcdef');
  });

  it('declines a caller whose mounts or working directory differ (a private mount on the IPAM store): the launcher’s own run writes only there', () => {
    const host = new BridgeHost();
    withWeftd(host);
    const privateDir = createTempDir('resident-private');
    const conf = host.config({ ipam: { type: 'host-local', subnet: '10.95.0.0/24', dataDir: join(privateDir, 'ipam') } });
    const wrapper = ['unshare', '-m', 'sh', '-c', `mount -t tmpfs weft-test ${privateDir} && exec "$0"`];
    const container = createContainer();
    const result = host.add<AddResult>({ containerId: 'p', netns: container }, conf, { wrapper });
    expect(result.ips?.[0]?.address).toBe('10.95.0.2/24');
    expect(declined(host, 'view')).toBe(1);
    expect(served(host)).toBe(0);
    expect(readdirSync(privateDir)).toEqual([]);
    host.ok('DEL', { containerId: 'p', netns: container }, conf, { wrapper });
    // Another working directory: a relative path would name another file.
    expect(host.run('VERSION', undefined, { cniVersion: '1.0.0' }, { wrapper: ['sh', '-c', 'cd / && exec "$0"'] }).status).toBe(0);
    expect(declined(host, 'view')).toBe(3);
  });

  it('two weftds in two network namespaces of one machine each serve their own; a caller from elsewhere is declined', async () => {
    const a = new BridgeHost();
    const b = new BridgeHost();
    const daemonA = withWeftd(a);
    withWeftd(b);
    const version = { cniVersion: '1.0.0' };
    a.run('VERSION', undefined, version);
    a.run('VERSION', undefined, version);
    b.run('VERSION', undefined, version);
    expect([served(a), served(b)]).toEqual([2, 1]);
    // This test process sits in another network namespace: weftd answers DECLINE, and nothing runs.
    const request = encodeRequest({ version: protocolVersion, build: buildOf(daemonA), plugin: 'bridge', env: ['CNI_COMMAND=VERSION'], stdin: Buffer.alloc(0) });
    const frames = await exchange(daemonA.socket, request);
    expect(frames.map((f) => f.type)).toEqual([FrameType.Decline]);
    expect(text(frames[0])).toBe('the caller is in another net namespace');
    expect(served(a)).toBe(2);
  });

  it('refuses garbage, oversized and non-root frames with an error, while a stalled client and the refusals hold up no call', async () => {
    const host = new BridgeHost();
    const daemon = withWeftd(host);
    const stalled = createConnection(daemon.socket);
    stalled.write(Buffer.from([0, 0, 1, 0, FrameType.Request, protocolVersion]));
    const garbage = await exchange(daemon.socket, encodeFrame(9 as FrameType, 'hello'));
    const header = Buffer.alloc(5);
    header.writeUInt32BE(maxFrameBytes + 1, 0);
    header.writeUInt8(FrameType.Request, 4);
    const oversized = await exchange(daemon.socket, header);
    const truncated = await exchange(daemon.socket, encodeFrame(FrameType.Request, Buffer.from([protocolVersion, 0, 0, 0, 9, 1])));
    expect([garbage, oversized, truncated].map((frames) => frames.map((f) => f.type))).toEqual([[FrameType.Error], [FrameType.Error], [FrameType.Error]]);
    expect(text(garbage[0])).toBe('frame type 9 where a request belongs');
    expect(text(oversized[0])).toMatch(/exceeds/);
    expect(text(truncated[0])).toBe('request ends inside the build');
    // A peer that is not root, even one allowed through the directory's and the socket's modes.
    const nobody = `const c=require('net').createConnection(${JSON.stringify(daemon.socket)});const b=[];c.on('data',(d)=>b.push(d));c.on('close',()=>process.stdout.write(Buffer.concat(b).toString('hex')));c.on('error',()=>{});c.write(Buffer.from('${encodeRequest({ version: protocolVersion, build: buildOf(daemon), plugin: 'bridge', env: [], stdin: Buffer.alloc(0) }).toString('hex')}','hex'))`;
    const out = run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=+dac_override', '--ambient-caps=+dac_override', process.execPath, '-e', nobody], { env: cleanEnv() });
    const [refusal] = new FrameReader().push(Buffer.from(out.stdout, 'hex'));
    expect([refusal?.type, text(refusal)]).toEqual([FrameType.Error, 'only root may run plugins']);
    const container = createContainer();
    host.add({ containerId: 'ok', netns: container }, bridgeConf(host));
    expect(served(host)).toBe(1);
    expect(scrape(host.netns, 'weft_plugin_requests_refused_total')).toBe(4);
    stalled.destroy();
  });

  it('weftd killed with 50 calls in flight: each launcher ends with a result or code 11, and DEL of all leaves nothing', async () => {
    const host = new BridgeHost();
    const conf = bridgeConf(host);
    const daemon = withWeftd(host);
    const warm = createContainer();
    host.add({ containerId: 'warm', netns: warm }, conf);
    host.ok('DEL', { containerId: 'warm', netns: warm }, conf);
    const before = attachmentState(host);
    const attachments = Array.from({ length: 50 }, (_, i) => ({ containerId: `k${i}`, netns: createContainer() }));
    const calls = runAll(host, 'ADD', attachments, conf);
    // Killed once a few addresses are out: with two workers, most of the 50 calls are still running or
    // waiting in weftd then (PENDING sent).
    for (const deadline = Date.now() + 60_000; host.allocations().length < 5 && Date.now() < deadline;) {
      await new Promise((wake) => setTimeout(wake, 20));
    }
    process.kill(daemon.pid, 'SIGKILL');
    const results = await calls;
    const interrupted = results.filter((r) => r.status !== 0);
    for (const r of interrupted) {
      expect(JSON.parse(r.stdout)).toEqual({
        cniVersion: '1.1.0', code: 11, msg: 'weftd stopped during the plugin call',
        details: 'the call may be partly done: delete the attachment and add it again',
      });
    }
    expect(interrupted.length).toBeGreaterThan(0);
    const deletions = await runAll(host, 'DEL', attachments, conf);
    expect(deletions.filter((r) => r.status !== 0)).toEqual([]);
    expect(attachmentState(host)).toEqual(before);
  }, 300_000);

  it('100 concurrent ADDs through weftd and 20 standalone at the same moment get 120 different addresses', async () => {
    const host = new BridgeHost();
    const conf = bridgeConf(host);
    withWeftd(host);
    const attachments = Array.from({ length: 120 }, (_, i) => ({ containerId: `c${i}`, netns: createContainer() }));
    const [viaWeftd, standalone] = await Promise.all([
      runAll(host, 'ADD', attachments.slice(0, 100), conf),
      runAll(host, 'ADD', attachments.slice(100), conf, join(weftBinDir, 'weft-plugins/bridge')),
    ]);
    const results = [...viaWeftd, ...standalone];
    expect(results.filter((r) => r.status !== 0)).toEqual([]);
    const addresses = results.map((r) => (JSON.parse(r.stdout) as AddResult).ips![0]!.address);
    expect(new Set(addresses).size).toBe(120);
    expect(host.allocations()).toHaveLength(120);
    expect(served(host)).toBe(100);
    const deletions = await runAll(host, 'DEL', attachments, conf);
    expect(deletions.filter((r) => r.status !== 0)).toEqual([]);
    expect(host.allocations()).toEqual([]);
  }, 240_000);
});
