// runPlugin, the skeleton's process side: a bundled plugin executable run the way a runtime runs it
// (clean environment, config on stdin), checked for stdout, stderr and exit code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEchoPlugin } from './testing/build-echo-plugin.ts';

let root: string;
let plugin: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'weft-skel-'));
  plugin = await buildEchoPlugin(join(root, 'echo'));
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

const attachment = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/nonexistent/netns', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

function runEcho(env: Record<string, string>, stdin?: string) {
  const out = spawnSync(plugin, [], {
    env: { PATH: process.env.PATH!, ...env },
    input: stdin,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  return { stdout: out.stdout, stderr: out.stderr, exitCode: out.status };
}

const config = (extra: object = {}) => JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'echo', ...extra });

describe('runPlugin', () => {
  it('without a command prints what it is on stderr and exits 0', () => {
    expect(runEcho({})).toEqual({
      stdout: '',
      stderr: 'weft echo test plugin\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n',
      exitCode: 0,
    });
  });

  it('answers VERSION with stdin closed, and echoes a requested version', () => {
    const bare = runEcho({ CNI_COMMAND: 'VERSION' });
    expect(bare.exitCode).toBe(0);
    expect(JSON.parse(bare.stdout)).toMatchObject({ cniVersion: '1.1.0' });
    expect(JSON.parse(runEcho({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}').stdout)).toMatchObject({ cniVersion: '0.4.0' });
  });

  it('prints the ADD result and exits 0', () => {
    const out = runEcho({ CNI_COMMAND: 'ADD', ...attachment }, config({ testResult: { ips: [{ address: '10.0.0.2/24' }] } }));
    expect(out).toEqual({ stdout: '{\n    "cniVersion": "1.1.0",\n    "ips": [\n        {\n            "address": "10.0.0.2/24"\n        }\n    ]\n}\n', stderr: 'echo-plugin ADD n\n', exitCode: 0 });
  });

  it('prints an error as JSON on stdout and exits 1', () => {
    const out = runEcho({ CNI_COMMAND: 'DEL', ...attachment }, config({ testError: { code: 3, msg: 'no such container' } }));
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.1.0', code: 3, msg: 'no such container' });
  });

  it('refuses malformed stdin with code 6 and exit 1', () => {
    const out = runEcho({ CNI_COMMAND: 'ADD', ...attachment }, '{');
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 6 });
  });

  it("refuses its own network namespace as CNI_NETNS, unless overridden", () => {
    const own = { CNI_COMMAND: 'ADD', ...attachment, CNI_NETNS: `/proc/${process.pid}/ns/net` };
    const refused = runEcho(own, config());
    expect(refused.exitCode).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ code: 8, details: own.CNI_NETNS });
    expect(runEcho({ ...own, CNI_NETNS_OVERRIDE: 'true' }, config()).exitCode).toBe(0);
  });
});
