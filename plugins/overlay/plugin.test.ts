// The overlay plugin's verbs that need no kernel, through the skeleton core: no lease yet or an unusable one,
// idempotent DEL whatever weftd answers, bad input refused with nothing written. (Attaching containers:
// test/netns/overlay-plugin.test.ts; failures with containers: test/netns/overlay-plugin-failures.test.ts.)
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPluginCore } from '../../lib/cni/skel.ts';
import { overlayPlugin } from './plugin.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wt-overlay-core-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function invoke(command: string, extra: object = {}, env: Record<string, string> = {}) {
  const config = {
    cniVersion: '1.1.0', name: 'weft', type: 'overlay',
    subnetFile: join(dir, 'subnet.env'), dataDir: join(dir, 'saved'), socket: join(dir, 'weftd.sock'), ...extra,
  };
  const attachment = command === 'STATUS' || command === 'GC' ? {} : { CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/wt-none' };
  return runPluginCore(overlayPlugin, { env: { CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin', ...attachment, ...env }, stdin: JSON.stringify(config) });
}

const errorOf = (stdout: string) => JSON.parse(stdout) as { code: number; msg: string; details?: string };

describe('overlayPlugin without a lease', () => {
  it('ADD answers 11 (try again later) saying the lease is missing, and saves nothing', async () => {
    const out = await invoke('ADD');
    expect(out.exitCode).toBe(1);
    expect(errorOf(out.stdout)).toMatchObject({ code: 11, msg: expect.stringMatching(/not written a subnet lease yet/) });
    expect(existsSync(join(dir, 'saved'))).toBe(false);
  });

  it('ADD refuses a subnetFile that is no file weftd writes (a device, a huge file) with code 7, reading at most a bound', async () => {
    writeFileSync(join(dir, 'huge.env'), `WEFT_MTU=1450\n${'#'.repeat(2 << 20)}\n`);
    for (const [subnetFile, details] of [['/dev/zero', '/dev/zero is not a regular file'], [join(dir, 'huge.env'), `${join(dir, 'huge.env')} is larger than 1048576 bytes`]]) {
      const out = await invoke('ADD', { subnetFile });
      expect(errorOf(out.stdout)).toMatchObject({ code: 7, msg: 'invalid subnetFile', details });
    }
    expect(existsSync(join(dir, 'saved'))).toBe(false);
  });

  it('STATUS answers 50', async () => {
    const out = await invoke('STATUS');
    expect(errorOf(out.stdout).code).toBe(50);
  });

  it('DEL with nothing saved succeeds, also when weftd is not running', async () => {
    const out = await invoke('DEL');
    expect(out).toMatchObject({ exitCode: 0, stdout: '' });
    expect(out.stderr).toMatch(/deregister the endpoint skipped: weftd is not reachable/);
  });

  it('DEL succeeds, logging it, when weftd answers with an error or its socket path cannot be one', async () => {
    const server = createServer((_, res) => res.writeHead(500).end('{"error":"internal error"}'));
    const socket = join(dir, 'failing.sock');
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const out = await invoke('DEL', { socket });
      expect(out).toMatchObject({ exitCode: 0, stdout: '' });
      expect(out.stderr).toMatch(/deregister the endpoint failed .*: internal error/);
    } finally {
      server.close();
    }
    writeFileSync(join(dir, 'regular'), '');
    const notDir = await invoke('DEL', { socket: join(dir, 'regular', 'weftd.sock') });
    expect(notDir).toMatchObject({ exitCode: 0, stdout: '' });
    expect(notDir.stderr).toMatch(/ENOTDIR/);
  });

  it('DEL of a container ID longer than a file name may be succeeds', async () => {
    mkdirSync(join(dir, 'saved'));
    expect(await invoke('DEL', {}, { CNI_CONTAINERID: 'x'.repeat(300) })).toMatchObject({ exitCode: 0, stdout: '' });
  });

  it('GC needs the valid attachments', async () => {
    expect(errorOf((await invoke('GC')).stdout).code).toBe(7);
    expect((await invoke('GC', { 'cni.dev/valid-attachments': [] })).exitCode).toBe(0);
  });
});

describe('overlayPlugin with an unusable lease', () => {
  const good = 'WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_MTU=1450\nWEFT_IPMASQ=true\n';
  it.each([
    ['empty', '', /WEFT_MTU is missing/],
    ['corrupt', 'WEFT_NETWORK\n', /line 1: expected KEY=VALUE/],
    ['WEFT_IPMASQ=yes', good.replace('=true', '=yes'), /WEFT_IPMASQ: expected true or false/],
    ['a /32 subnet', good.replace('/24', '/32'), /WEFT_SUBNET 10\.244\.3\.1\/32 leaves no address/],
    ['a /128 IPv6 subnet', `${good}WEFT_IPV6_NETWORK=fd00::/56\nWEFT_IPV6_SUBNET=fd00::1/128\n`, /WEFT_IPV6_SUBNET fd00::1\/128/],
  ])('STATUS answers 50 saying the lease is unusable (%s)', async (_, text, details) => {
    writeFileSync(join(dir, 'subnet.env'), text);
    const out = await invoke('STATUS', { ipamDataDir: join(dir, 'ipam') });
    expect(errorOf(out.stdout)).toMatchObject({ code: 50, msg: "weftd's subnet lease is unusable", details: expect.stringMatching(details) });
  });
});

describe('overlayPlugin bad input', () => {
  it('checks the endpoint\'s inputs before anything else, also when no service is named', async () => {
    expect(errorOf((await invoke('ADD', {}, { CNI_ARGS: 'WEFT_PORTS=abc' })).stdout)).toMatchObject({ code: 4, details: expect.stringMatching(/WEFT_PORTS=abc/) });
    expect(errorOf((await invoke('ADD', { runtimeConfig: { 'weft.dev/service': 5 } })).stdout))
      .toMatchObject({ code: 7, details: expect.stringMatching(/"runtimeConfig\.weft\.dev\/service" must be a string/) });
    expect(errorOf((await invoke('ADD', { runtimeConfig: { portMappings: [{ containerPort: '80' }] } })).stdout))
      .toMatchObject({ code: 7, details: expect.stringMatching(/"runtimeConfig\.portMappings\[0\]\.containerPort"/) });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('answers with the spec\'s codes and writes nothing', async () => {
    expect(errorOf((await invoke('ADD', { subnetFile: 'relative' })).stdout).code).toBe(7);
    expect(errorOf((await invoke('ADD', { delegate: { ipam: { type: 'dhcp' } } })).stdout).code).toBe(7);
    expect(errorOf((await invoke('ADD', {}, { CNI_IFNAME: 'a-name-longer-than-15' })).stdout).code).toBe(4);
    expect(errorOf((await invoke('ADD', { cniVersion: '9.9.9' })).stdout).code).toBe(1);
    const malformed = await runPluginCore(overlayPlugin, {
      env: { CNI_COMMAND: 'ADD', CNI_PATH: '/opt/cni/bin', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/x' }, stdin: '{"cniVersion":',
    });
    expect(errorOf(malformed.stdout).code).toBe(6);
    expect(readdirSync(dir)).toEqual([]);
  });
});
