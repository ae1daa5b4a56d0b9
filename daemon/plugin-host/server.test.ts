import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResult, encodeRequest, FrameType, protocolVersion, type CallRequest } from '../../lib/resident/protocol.ts';
import { exchange } from '../../lib/resident/testing/exchange.ts';
import { Logger } from '../log.ts';
import { MetricsRegistry } from '../ops/metrics.ts';
import type { HostedCall, HostedOutput } from './call.ts';
import { CallMetrics } from './call-metrics.ts';
import { interruptedCallJson, startPluginServer, type PluginServer } from './server.ts';

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'weft-plugin-host-'));
const logs: string[] = [];
const metrics = new CallMetrics();
const registry = new MetricsRegistry();
metrics.register(registry);
let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => {
  release = resolve;
});

async function run(call: HostedCall): Promise<HostedOutput> {
  if (call.env.CNI_COMMAND === 'HOLD') await held;
  if (call.env.CNI_COMMAND === 'CRASH') throw new Error('worker gone');
  return { stdout: `${call.plugin} ${call.env.CNI_COMMAND} ${call.stdin}`, stderr: 'a log line\n', exitCode: call.env.CNI_COMMAND === 'ADD' ? 0 : 1 };
}

const request = (fields: Partial<CallRequest> = {}) => encodeRequest({
  version: protocolVersion, build: 'b1', plugin: 'bridge', env: ['CNI_COMMAND=ADD'], stdin: Buffer.from('{"cniVersion":"0.4.0"}'), ...fields,
});

describe.skipIf(!isRoot)('the plugin host socket', () => {
  let server: PluginServer;
  beforeAll(async () => {
    server = await startPluginServer({ build: 'b1', socketDir: join(dir, 'plugins'), run, metrics, log: new Logger('debug', (line) => logs.push(line)) });
  });
  afterAll(async () => {
    release();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on a root-only socket in a root-only directory', () => {
    expect(statSync(join(dir, 'plugins')).mode & 0o777).toBe(0o700);
    expect(statSync(server.path).mode & 0o777).toBe(0o600);
  });

  it('answers PENDING with the code-11 error in the config’s version, then the result', async () => {
    const frames = await exchange(server.path, request());
    expect(frames.map((f) => f.type)).toEqual([FrameType.Pending, FrameType.Result]);
    expect(JSON.parse(frames[0]!.payload.toString())).toMatchObject({ cniVersion: '0.4.0', code: 11 });
    expect(decodeResult(frames[1]!.payload)).toEqual({ exitCode: 0, stderr: 'a log line\n', stdout: 'bridge ADD {"cniVersion":"0.4.0"}' });
  });

  it('declines another build and a plugin it does not run, running nothing', async () => {
    const other = await exchange(server.path, request({ build: 'b2' }));
    expect(other.map((f) => [f.type, f.payload.toString()])).toEqual([[FrameType.Decline, 'weftd is build b1, the launcher build b2']]);
    const unknown = await exchange(server.path, request({ plugin: 'static' }));
    expect(unknown.map((f) => [f.type, f.payload.toString()])).toEqual([[FrameType.Decline, 'weftd does not run a plugin named "static"']]);
  });

  it('keeps serving while a call hangs, and answers a call whose worker died with the code-11 error', async () => {
    const hanging = exchange(server.path, request({ env: ['CNI_COMMAND=HOLD'] }));
    const crashed = await exchange(server.path, request({ env: ['CNI_COMMAND=CRASH'] }));
    expect(decodeResult(crashed[1]!.payload)).toEqual({ exitCode: 1, stderr: '', stdout: interruptedCallJson('{"cniVersion":"0.4.0"}') });
    expect(metrics.inFlight).toBe(1);
    release();
    expect(decodeResult((await hanging)[1]!.payload).exitCode).toBe(1);
    expect(logs.some((line) => line.includes('worker gone'))).toBe(true);
  });

  it('counts calls per plugin and command, with their latency, on /metrics', () => {
    const text = registry.render();
    expect(text).toContain('weft_plugin_calls_total{plugin="bridge",command="ADD",result="success"} 1');
    expect(text).toContain('weft_plugin_calls_total{plugin="bridge",command="other",result="error"} 2');
    expect(text).toContain('# TYPE weft_plugin_call_duration_seconds histogram');
    expect(text).toMatch(/weft_plugin_call_duration_seconds_bucket\{plugin="bridge",command="ADD",le="\+Inf"\} 1/);
    expect(text).toContain('weft_plugin_calls_declined_total{reason="build"} 1');
    expect(text).toContain('weft_plugin_calls_in_flight 0');
  });
});

describe('interruptedCallJson', () => {
  it('speaks the config’s version, or the newest when stdin is no config', () => {
    expect(JSON.parse(interruptedCallJson('{"cniVersion":"0.3.1"}'))).toEqual({
      cniVersion: '0.3.1', code: 11, msg: 'weftd stopped during the plugin call',
      details: 'the call may be partly done: delete the attachment and add it again',
    });
    expect(JSON.parse(interruptedCallJson('garbage')).cniVersion).toBe('1.1.0');
  });
});
