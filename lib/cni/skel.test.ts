import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from './errors.ts';
import { definePlugin, runPluginCore, splitCniPath, validateContainerId, validateInterfaceName, type CmdArgs, type PluginIo } from './skel.ts';
import { catchCniError } from './testing/catch-cni-error.ts';
import type { NetConf, Result } from './types.ts';

interface Call {
  verb: string;
  conf: NetConf & { extra?: string };
  args: CmdArgs;
}

const addResult: Result = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', sandbox: '/run/netns/c1', mtu: 1500 }],
  ips: [
    { interface: 0, address: '10.1.0.5/24', gateway: '10.1.0.1' },
    { interface: 0, address: 'fd00::5/64' },
  ],
  routes: [{ dst: '0.0.0.0/0' }],
};

function recordingPlugin(options: { supportedVersions?: string[]; withGc?: boolean; fail?: unknown } = {}) {
  const calls: Call[] = [];
  const record = (verb: string) => (ctx: { conf: Call['conf']; args: CmdArgs; log(line: string): void }) => {
    calls.push({ verb, conf: ctx.conf, args: ctx.args });
    ctx.log(`${verb} ran`);
    if (options.fail !== undefined) throw options.fail;
  };
  const plugin = definePlugin({
    about: 'weft test-plugin v0.0.1',
    supportedVersions: options.supportedVersions,
    parseConfig: (base, raw) => ({ ...base, extra: raw.field('extra').optionalString() }),
    verbs: {
      add(ctx) {
        record('ADD')(ctx);
        return addResult;
      },
      del: record('DEL'),
      check: record('CHECK'),
      ...(options.withGc && { gc: record('GC'), status: record('STATUS') }),
    },
  });
  return { plugin, calls };
}

const attachmentEnv = {
  CNI_CONTAINERID: 'c0ffee',
  CNI_NETNS: '/run/netns/c1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin::/usr/lib/cni',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
};

function conf(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ cniVersion: '1.1.0', name: 'net1', type: 'test-plugin', ...extra });
}

async function run(env: Record<string, string>, stdin: PluginIo['stdin'] = conf(), plugin = recordingPlugin().plugin, isOwnNetns?: PluginIo['isOwnNetns']) {
  return runPluginCore(plugin, { env, stdin, isOwnNetns });
}

function errorOf(output: { stdout: string; exitCode: number }) {
  expect(output.exitCode).toBe(1);
  return JSON.parse(output.stdout) as { cniVersion: string; code: number; msg: string; details?: string };
}

const noStdin = () => {
  throw new Error('stdin must not be read');
};

describe('without a command', () => {
  it('prints what it is and the versions it speaks on stderr, and exits 0', async () => {
    const { plugin, calls } = recordingPlugin();
    const output = await run({}, noStdin, plugin);
    expect(output).toEqual({
      stdout: '',
      stderr: 'weft test-plugin v0.0.1\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n',
      exitCode: 0,
    });
    expect(calls).toEqual([]);
  });
});

describe('VERSION', () => {
  it('answers without stdin', async () => {
    const output = await run({ CNI_COMMAND: 'VERSION' }, noStdin);
    expect(output.exitCode).toBe(0);
    expect(JSON.parse(output.stdout)).toEqual({
      cniVersion: '1.1.0',
      supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  });

  it('echoes the cniVersion given on stdin and lists only what the plugin supports', async () => {
    const output = await run({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}', recordingPlugin({ supportedVersions: ['1.0.0', '1.1.0'] }).plugin);
    expect(JSON.parse(output.stdout)).toEqual({ cniVersion: '1.0.0', supportedVersions: ['1.0.0', '1.1.0'] });
  });

  it('ignores unreadable or malformed stdin', async () => {
    expect(JSON.parse((await run({ CNI_COMMAND: 'VERSION' }, '{oops')).stdout).cniVersion).toBe('1.1.0');
  });
});

describe('environment checks', () => {
  it.each([
    ['ADD', '[CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH]'],
    ['CHECK', '[CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH]'],
    ['DEL', '[CNI_CONTAINERID,CNI_IFNAME,CNI_PATH]'],
    ['GC', '[CNI_PATH]'],
    ['STATUS', '[CNI_PATH]'],
  ])('%s names every missing variable in one code-4 error', async (command, names) => {
    const { plugin, calls } = recordingPlugin({ withGc: true });
    const error = errorOf(await run({ CNI_COMMAND: command }, noStdin, plugin));
    expect(error).toEqual({ cniVersion: '1.1.0', code: 4, msg: `required env variables ${names} missing` });
    expect(calls).toEqual([]);
  });

  it('treats empty variables as missing', async () => {
    const error = errorOf(await run({ CNI_COMMAND: 'ADD', ...attachmentEnv, CNI_NETNS: '', CNI_PATH: '' }));
    expect(error.msg).toBe('required env variables [CNI_NETNS,CNI_PATH] missing');
  });

  it('lets DEL run without CNI_NETNS', async () => {
    const { plugin, calls } = recordingPlugin();
    const output = await run({ CNI_COMMAND: 'DEL', ...attachmentEnv, CNI_NETNS: '' }, conf(), plugin);
    expect(output.exitCode).toBe(0);
    expect(calls[0]!.args.netns).toBe('');
  });

  it.each(['-abc', '.abc', 'a b', 'a/b', 'id;rm', 'ü'])('refuses container ID %j with code 4', async (id) => {
    const error = errorOf(await run({ CNI_COMMAND: 'ADD', ...attachmentEnv, CNI_CONTAINERID: id }));
    expect(error).toEqual({ cniVersion: '1.1.0', code: 4, msg: 'invalid characters in containerID', details: id });
  });

  it.each([
    ['abcdefghijklmnop', 'interface name is too long'],
    ['ééééééééé', 'interface name is too long'],
    ['.', 'interface name is . or ..'],
    ['..', 'interface name is . or ..'],
    ['e\uFFFD', 'interface name is not valid UTF-8'],
    ['eth/0', 'interface name contains / or : or whitespace characters'],
    ['eth:0', 'interface name contains / or : or whitespace characters'],
    ['eth 0', 'interface name contains / or : or whitespace characters'],
    ['eth\t0', 'interface name contains / or : or whitespace characters'],
    ['eth\u00a00', 'interface name contains / or : or whitespace characters'],
    ['eth\u00850', 'interface name contains / or : or whitespace characters'],
  ])('refuses interface name %j with code 4', async (ifName, msg) => {
    const error = errorOf(await run({ CNI_COMMAND: 'CHECK', ...attachmentEnv, CNI_IFNAME: ifName }));
    expect(error.code).toBe(ErrorCode.InvalidEnvironment);
    expect(error.msg).toBe(msg);
  });

  it('accepts a 15-character interface name and the container ID pattern', async () => {
    const output = await run({ CNI_COMMAND: 'ADD', ...attachmentEnv, CNI_IFNAME: 'abcdefghijklmno', CNI_CONTAINERID: '0a-B_c.d' });
    expect(output.exitCode).toBe(0);
  });

  it('does not validate attachment variables for GC', async () => {
    const { plugin, calls } = recordingPlugin({ withGc: true });
    const output = await run({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin', CNI_IFNAME: 'bad/name' }, conf(), plugin);
    expect(output.exitCode).toBe(0);
    expect(calls.map((c) => c.verb)).toEqual(['GC']);
  });

  it.each(['add', 'FOO', 'Version'])('refuses unknown command %j with code 4', async (command) => {
    const error = errorOf(await run({ CNI_COMMAND: command, ...attachmentEnv }));
    expect(error).toEqual({ cniVersion: '1.1.0', code: 4, msg: `unknown CNI_COMMAND: ${command}` });
  });

  it('names the variables precisely in the validators', () => {
    expect(catchCniError(() => validateContainerId('')).code).toBe(ErrorCode.UnknownContainer);
    expect(catchCniError(() => validateInterfaceName('')).msg).toBe('interface name is empty');
    expect(catchCniError(() => validateInterfaceName('a'.repeat(16))).details).toBe('interface name should be less than 16 characters');
    // Not from a process's environment, but from a saved record passed in-process (the overlay's GC).
    expect(catchCniError(() => validateInterfaceName('eth\u00000'))).toMatchObject({ code: 4, msg: 'interface name contains a NUL byte' });
  });

  it('splits CNI_PATH on colons, dropping empty entries', () => {
    expect(splitCniPath('/a::/b:')).toEqual(['/a', '/b']);
    expect(splitCniPath('')).toEqual([]);
    expect(splitCniPath(undefined)).toEqual([]);
  });
});

describe('stdin and config', () => {
  const add = { CNI_COMMAND: 'ADD', ...attachmentEnv };

  it('reports a stdin read failure with code 5', async () => {
    const error = errorOf(
      await run(add, () => {
        throw new Error('EIO: i/o error, read');
      }),
    );
    expect(error).toEqual({ cniVersion: '1.1.0', code: 5, msg: 'error reading from stdin', details: 'EIO: i/o error, read' });
  });

  it.each(['', '{', 'null', '[1]'])('refuses stdin %j with code 6', async (stdin) => {
    const error = errorOf(await run(add, stdin));
    expect(error.code).toBe(ErrorCode.DecodingFailure);
    expect(error.msg).toBe('error unmarshall network config');
    expect(error.cniVersion).toBe('1.1.0');
  });

  it('refuses a config without a name with code 7', async () => {
    expect(errorOf(await run(add, '{"cniVersion":"1.0.0","type":"x"}'))).toEqual({ cniVersion: '1.1.0', code: 7, msg: 'missing network name' });
  });

  it("answers errors in the config's version once it is known", async () => {
    const error = errorOf(await run(add, conf({ cniVersion: '0.4.0', type: 7 })));
    expect(error).toEqual({ cniVersion: '0.4.0', code: 7, msg: 'invalid network config', details: '"type" must be a string, got number 7' });
  });

  it('refuses a version the plugin does not speak with code 1', async () => {
    const { plugin, calls } = recordingPlugin({ supportedVersions: ['1.0.0', '1.1.0'] });
    const error = errorOf(await run(add, conf({ cniVersion: '0.4.0' }), plugin));
    expect(error).toMatchObject({ code: 1, msg: 'incompatible CNI versions', details: 'config is "0.4.0", plugin supports ["1.0.0" "1.1.0"]' });
    expect(calls).toEqual([]);
  });

  it('treats a config without cniVersion as 0.1.0', async () => {
    const error = errorOf(await run(add, '{"name":"n","type":"t"}', recordingPlugin({ supportedVersions: ['1.0.0'] }).plugin));
    expect(error.details).toBe('config is "0.1.0", plugin supports ["1.0.0"]');
  });

  it.each([
    ['CHECK', '0.3.1'],
    ['GC', '1.0.0'],
    ['STATUS', '0.4.0'],
  ])('refuses %s for a %s config with code 1', async (command, version) => {
    const { plugin, calls } = recordingPlugin({ withGc: true });
    const error = errorOf(await run({ ...attachmentEnv, CNI_COMMAND: command }, conf({ cniVersion: version }), plugin));
    expect(error).toMatchObject({ code: 1, msg: `config version does not allow ${command}` });
    expect(calls).toEqual([]);
  });

  it("reports the plugin's own config errors", async () => {
    const error = errorOf(await run(add, conf({ extra: 5 })));
    expect(error).toMatchObject({ code: 7, details: '"extra" must be a string, got number 5' });
  });
});

describe('dispatch', () => {
  it('hands ADD the validated config and arguments, and prints the result in the config version', async () => {
    const { plugin, calls } = recordingPlugin();
    const stdin = conf({ cniVersion: '0.4.0', extra: 'x', ipam: { type: 'host-local' } });
    const output = await run({ CNI_COMMAND: 'ADD', ...attachmentEnv }, stdin, plugin);
    expect(output.exitCode).toBe(0);
    expect(output.stderr).toBe('ADD ran\n');
    expect(JSON.parse(output.stdout)).toEqual({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', sandbox: '/run/netns/c1' }],
      ips: [
        { version: '4', interface: 0, address: '10.1.0.5/24', gateway: '10.1.0.1' },
        { version: '6', interface: 0, address: 'fd00::5/64' },
      ],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    });
    const [call] = calls;
    expect(call!.conf).toEqual({ cniVersion: '0.4.0', name: 'net1', type: 'test-plugin', extra: 'x', ipam: { type: 'host-local' } });
    expect(call!.args).toEqual({
      command: 'ADD',
      containerId: 'c0ffee',
      netns: '/run/netns/c1',
      ifName: 'eth0',
      args: 'IgnoreUnknown=1;K8S_POD_NAME=web',
      path: ['/opt/cni/bin', '/usr/lib/cni'],
      stdinData: stdin,
      env: { CNI_COMMAND: 'ADD', ...attachmentEnv },
    });
  });

  it.each([
    ['1.1.0', { cniVersion: '1.1.0' }],
    ['0.2.0', { cniVersion: '0.2.0', ip4: { ip: '10.1.0.5/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] }, ip6: { ip: 'fd00::5/64' }, dns: {} }],
  ])('prints ADD results as %s', async (version, expected) => {
    const output = await run({ CNI_COMMAND: 'ADD', ...attachmentEnv }, conf({ cniVersion: version }));
    expect(JSON.parse(output.stdout)).toMatchObject(expected);
  });

  it('gives CHECK and DEL the prevResult in the current shape and prints nothing', async () => {
    const { plugin, calls } = recordingPlugin();
    const prevResult = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.5/24' }] };
    for (const command of ['CHECK', 'DEL']) {
      const output = await run({ CNI_COMMAND: command, ...attachmentEnv }, conf({ cniVersion: '0.4.0', prevResult }), plugin);
      expect(output).toEqual({ stdout: '', stderr: `${command} ran\n`, exitCode: 0 });
    }
    expect(calls.map((c) => [c.verb, c.conf.prevResult])).toEqual([
      ['CHECK', { cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/24' }] }],
      ['DEL', { cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/24' }] }],
    ]);
  });

  it('gives GC the valid attachments', async () => {
    const { plugin, calls } = recordingPlugin({ withGc: true });
    const attachments = [{ containerID: 'c1', ifname: 'eth0' }];
    const output = await run({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, conf({ 'cni.dev/valid-attachments': attachments }), plugin);
    expect(output.exitCode).toBe(0);
    expect(calls[0]!.conf.validAttachments).toEqual(attachments);
    expect(calls[0]!.args).toMatchObject({ containerId: '', ifName: '', netns: '' });
  });

  it('succeeds quietly for GC and STATUS when the plugin has no such verb', async () => {
    for (const command of ['GC', 'STATUS']) {
      expect(await run({ CNI_COMMAND: command, CNI_PATH: '/x' }, conf())).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    }
  });

  it("prints a verb's CniError with its own code", async () => {
    const fail = new CniError(ErrorCode.TryAgainLater, 'store is locked', 'another ADD holds /var/lib/cni/networks/net1/lock');
    const output = await run({ CNI_COMMAND: 'DEL', ...attachmentEnv }, conf({ cniVersion: '1.0.0' }), recordingPlugin({ fail }).plugin);
    expect(output.stdout).toBe(
      '{\n    "cniVersion": "1.0.0",\n    "code": 11,\n    "msg": "store is locked",\n    "details": "another ADD holds /var/lib/cni/networks/net1/lock"\n}\n',
    );
    expect(output.stderr).toBe('DEL ran\n');
  });

  it('prints any other failure as code 199', async () => {
    const output = await run({ CNI_COMMAND: 'CHECK', ...attachmentEnv }, conf(), recordingPlugin({ fail: new RangeError('boom') }).plugin);
    expect(errorOf(output)).toEqual({ cniVersion: '1.1.0', code: 199, msg: 'boom' });
  });

  it('reports a result the config version cannot express, and undoes the ADD with a DEL', async () => {
    const calls: string[] = [];
    const plugin = definePlugin({ about: 'x', verbs: { add: () => (calls.push('add'), { cniVersion: '1.1.0' }), del: () => void calls.push('del'), check() {} } });
    const error = errorOf(await run({ CNI_COMMAND: 'ADD', ...attachmentEnv }, conf({ cniVersion: '0.2.0' }), plugin));
    expect(error).toMatchObject({ cniVersion: '0.2.0', code: 1, msg: 'cannot convert: no valid IP addresses' });
    expect(calls).toEqual(['add', 'del']);
  });
});

describe("refusing the plugin's own namespace", () => {
  const own = (path: string) => path === '/proc/1/ns/net';

  it.each(['ADD', 'DEL'])('%s refuses CNI_NETNS naming it with code 8', async (command) => {
    const { plugin, calls } = recordingPlugin();
    const error = errorOf(await run({ CNI_COMMAND: command, ...attachmentEnv, CNI_NETNS: '/proc/1/ns/net' }, conf(), plugin, own));
    expect(error).toMatchObject({ code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" });
    expect(calls).toEqual([]);
  });

  it.each(['1', 'true', 'TRUE'])('lets CNI_NETNS_OVERRIDE=%s through', async (value) => {
    const env = { CNI_COMMAND: 'ADD', ...attachmentEnv, CNI_NETNS: '/proc/1/ns/net', CNI_NETNS_OVERRIDE: value };
    expect((await run(env, conf(), undefined, own)).exitCode).toBe(0);
  });

  it('lets other namespaces through', async () => {
    expect((await run({ CNI_COMMAND: 'ADD', ...attachmentEnv }, conf(), undefined, own)).exitCode).toBe(0);
  });
});
