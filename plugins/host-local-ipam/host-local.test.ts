// The built executable, run as a runtime runs it, for every verb and spec version. host-local changes
// nothing in the kernel, so these tests need no namespaces: each works in its own temporary dataDir.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALL_VERSIONS, versionAtLeast } from '../../lib/cni/version.ts';
import { installedHostLocal, runPlugin, type CniCall } from './testing/plugin-exec.ts';

let binary: string;
let dataDir: string;
beforeAll(() => {
  binary = installedHostLocal();
});
afterAll(() => {
  rmSync(join(binary, '..'), { recursive: true, force: true });
});
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'wt-hl-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function config(ipam: object = {}, extra: object = {}, cniVersion = '1.1.0') {
  return {
    cniVersion,
    name: 'wtnet',
    type: 'bridge',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.10.0.0/29' }]], ...ipam },
    ...extra,
  };
}

function call(command: CniCall['command'], conf: object | string, fields: Partial<CniCall> = {}) {
  const attachment = command === 'GC' || command === 'STATUS' || command === 'VERSION' ? {} : { containerId: 'c1', ifname: 'eth0' };
  return runPlugin(binary, { command, config: conf, ...attachment, ...fields });
}

const storeFiles = () => readdirSync(join(dataDir, 'wtnet')).sort();
const allocationFiles = () => storeFiles().filter((name) => name !== 'lock' && !name.startsWith('last_reserved_ip.'));

describe('VERSION', () => {
  it('lists every version and echoes the one asked about', () => {
    const run = call('VERSION', { cniVersion: '0.4.0' });
    expect(run.code).toBe(0);
    expect(run.json).toEqual({ cniVersion: '0.4.0', supportedVersions: [...ALL_VERSIONS] });
  });
});

describe.each(ALL_VERSIONS)('cniVersion %s', (version) => {
  const conf = () => config({ routes: [{ dst: '0.0.0.0/0' }] }, {}, version);

  it('ADD answers in the version\'s shape, DEL releases, CHECK follows the allocation', () => {
    const add = call('ADD', conf());
    expect(add.code, add.stdout).toBe(0);
    if (!versionAtLeast(version, '0.3.0')) {
      expect(add.json).toEqual({ cniVersion: version, ip4: { ip: '10.10.0.2/29', gateway: '10.10.0.1', routes: [{ dst: '0.0.0.0/0' }] }, dns: {} });
    } else {
      const ip = versionAtLeast(version, '1.0.0')
        ? { address: '10.10.0.2/29', gateway: '10.10.0.1' }
        : { version: '4', address: '10.10.0.2/29', gateway: '10.10.0.1' };
      expect(add.json).toMatchObject({ cniVersion: version, ips: [ip], routes: [{ dst: '0.0.0.0/0' }] });
    }
    expect(readFileSync(join(dataDir, 'wtnet', '10.10.0.2'), 'latin1')).toBe('c1\r\neth0');

    const checkable = versionAtLeast(version, '0.4.0');
    const withPrev = { ...conf(), prevResult: add.json };
    expect(call('CHECK', withPrev).code).toBe(checkable ? 0 : 1);

    const del = call('DEL', conf());
    expect([del.code, del.stdout]).toEqual([0, '']);
    expect(allocationFiles()).toEqual([]);
    if (checkable) {
      const check = call('CHECK', withPrev);
      expect([check.json.code, check.json.msg]).toEqual([3, 'host-local: Failed to find address added by container c1']);
    }
  });

  it('GC and STATUS only from 1.1.0', () => {
    const expected = versionAtLeast(version, '1.1.0') ? 0 : 1;
    expect(call('GC', { ...conf(), 'cni.dev/valid-attachments': [] }).code).toBe(expected);
    expect(call('STATUS', conf()).code).toBe(expected);
  });
});

describe('ADD', () => {
  it('gives one address per range set with routes and dns from resolvConf', () => {
    const resolv = join(dataDir, 'resolv.conf');
    writeFileSync(resolv, 'nameserver 10.10.0.53\nsearch example.org\n');
    const ipam = { ranges: [[{ subnet: '10.10.0.0/29' }], [{ subnet: 'fd10::/120', gateway: 'fd10::fe' }]], routes: [{ dst: '::/0' }], resolvConf: resolv };
    const add = call('ADD', config(ipam));
    expect(add.json).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '10.10.0.2/29', gateway: '10.10.0.1' }, { address: 'fd10::1/120', gateway: 'fd10::fe' }],
      routes: [{ dst: '::/0' }],
      dns: { nameservers: ['10.10.0.53'], search: ['example.org'] },
    });
    expect(storeFiles()).toEqual(['10.10.0.2', 'fd10::1', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  });

  it('refuses a second ADD for the same attachment with code 102 and changes nothing', () => {
    expect(call('ADD', config()).code).toBe(0);
    const again = call('ADD', config());
    expect([again.json.code, again.json.msg]).toEqual([102, 'failed to allocate for range 0: 10.10.0.2 has been allocated to c1, duplicate allocation is not allowed']);
    expect(allocationFiles()).toEqual(['10.10.0.2']);
  });

  it('reports an exhausted range with code 101 and keeps what was allocated', () => {
    const ipam = { ranges: [[{ subnet: '10.10.0.0/29', rangeStart: '10.10.0.2', rangeEnd: '10.10.0.3' }]] };
    expect(call('ADD', config(ipam), { containerId: 'a' }).code).toBe(0);
    expect(call('ADD', config(ipam), { containerId: 'b' }).code).toBe(0);
    const full = call('ADD', config(ipam), { containerId: 'c' });
    expect([full.json.code, full.json.msg]).toEqual([101, 'failed to allocate for range 0: no IP addresses available in range set: 10.10.0.2-10.10.0.3']);
    expect(allocationFiles()).toEqual(['10.10.0.2', '10.10.0.3']);
  });

  it('grants requested addresses from CNI_ARGS, args and runtimeConfig, and refuses taken ones', () => {
    const ipam = { ranges: [[{ subnet: '10.10.0.0/29' }], [{ subnet: 'fd10::/120' }]] };
    const viaEnv = call('ADD', config(ipam), { containerId: 'a', args: 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.10.0.5' });
    expect(viaEnv.json.ips.map((ip: { address: string }) => ip.address)).toEqual(['10.10.0.5/29', 'fd10::2/120']);
    const viaArgs = call('ADD', config(ipam, { args: { cni: { ips: ['fd10::9'] } } }), { containerId: 'b' });
    expect(viaArgs.json.ips.map((ip: { address: string }) => ip.address)).toEqual(['10.10.0.6/29', 'fd10::9/120']);
    const viaCapability = call('ADD', config(ipam, { capabilities: { ips: true }, runtimeConfig: { ips: ['10.10.0.3/29'] } }), { containerId: 'c' });
    expect(viaCapability.json.ips[0].address).toBe('10.10.0.3/29');
    const taken = call('ADD', config(ipam), { containerId: 'd', args: 'IP=10.10.0.5' });
    expect([taken.json.code, taken.json.msg]).toEqual([101, 'failed to allocate for range 0: requested IP address 10.10.0.5 is not available in range set 10.10.0.1-10.10.0.6']);
    const outside = call('ADD', config(ipam), { containerId: 'd', args: 'IP=192.168.0.1' });
    expect([outside.json.code, outside.json.msg]).toEqual([101, 'failed to allocate all requested IPs: 192.168.0.1']);
    // Round robin goes on after the last reserved address, requested ones included: fd10::9, then fd10::a.
    expect(allocationFiles()).toEqual(['10.10.0.3', '10.10.0.5', '10.10.0.6', 'fd10::2', 'fd10::9', 'fd10::a']);
  });

  it('honours runtimeConfig.ipRanges', () => {
    const add = call('ADD', config({}, { capabilities: { ipRanges: true }, runtimeConfig: { ipRanges: [[{ subnet: '10.77.0.0/24' }]] } }));
    expect(add.json.ips.map((ip: { address: string }) => ip.address)).toEqual(['10.77.0.2/24', '10.10.0.2/29']);
  });
});

describe('DEL', () => {
  it('releases every address of the attachment only, and succeeds when there is nothing', () => {
    const ipam = { ranges: [[{ subnet: '10.10.0.0/29' }], [{ subnet: 'fd10::/120' }]] };
    call('ADD', config(ipam));
    call('ADD', config(ipam), { ifname: 'eth1' });
    expect(call('DEL', config(ipam)).code).toBe(0);
    expect(allocationFiles()).toEqual(['10.10.0.3', 'fd10::3']);
    expect(call('DEL', config(ipam)).code).toBe(0);
    expect(call('DEL', config(ipam), { containerId: 'never-added' }).code).toBe(0);
    expect(allocationFiles()).toEqual(['10.10.0.3', 'fd10::3']);
  });

  it('releases old files holding only the container ID', () => {
    mkdirSync(join(dataDir, 'wtnet'));
    writeFileSync(join(dataDir, 'wtnet', '10.10.0.4'), 'c1');
    writeFileSync(join(dataDir, 'wtnet', '10.10.0.5'), 'c2');
    expect(call('DEL', config()).code).toBe(0);
    expect(allocationFiles()).toEqual(['10.10.0.5']);
  });

  it('creates no store for a network it never saw', () => {
    expect(call('DEL', config()).code).toBe(0);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('GC', () => {
  it('releases allocations of attachments that are gone, keeping bookkeeping and foreign files', () => {
    for (const [containerId, ifname] of [['c1', 'eth0'], ['c1', 'eth1'], ['c2', 'eth0'], ['c3', 'eth0']]) {
      expect(call('ADD', config(), { containerId, ifname }).code).toBe(0);
    }
    writeFileSync(join(dataDir, 'wtnet', '10.10.0.6'), 'c4');
    writeFileSync(join(dataDir, 'wtnet', 'README'), 'not an allocation');
    // What a reserve killed half-way leaves: the reference's empty allocation, weft's pending file.
    writeFileSync(join(dataDir, 'wtnet', '10.10.0.7'), '');
    writeFileSync(join(dataDir, 'wtnet', '.reserving'), 'c1\r\neth0');
    const valid = [{ containerID: 'c1', ifname: 'eth0' }, { containerID: 'c3', ifname: 'eth0' }, { containerID: 'c4', ifname: 'eth9' }];
    const gc = call('GC', { ...config(), 'cni.dev/valid-attachments': valid });
    expect([gc.code, gc.stdout]).toEqual([0, '']);
    expect(storeFiles()).toEqual(['10.10.0.2', '10.10.0.5', '10.10.0.6', 'README', 'last_reserved_ip.0', 'lock']);
  });

  it('refuses to run without the list of valid attachments', () => {
    call('ADD', config());
    expect(call('GC', config()).json.code).toBe(7);
    expect(allocationFiles()).toEqual(['10.10.0.2']);
  });
});

describe('STATUS', () => {
  it('is available until a range set is full, then answers 50', () => {
    const ipam = { ranges: [[{ subnet: '10.10.0.0/29' }], [{ subnet: 'fd10::/120', rangeStart: 'fd10::5', rangeEnd: 'fd10::5' }]] };
    expect(call('STATUS', config(ipam)).code).toBe(0);
    call('ADD', config(ipam));
    const status = call('STATUS', config(ipam));
    expect([status.json.code, status.json.msg, status.json.details]).toEqual([50, 'host-local: no IP addresses available in range set 1', 'fd10::5-fd10::5']);
  });

  it('answers 50 when the store cannot be written', () => {
    const status = call('STATUS', config({ dataDir: '/proc/sys/net' }));
    expect([status.json.code, status.json.msg]).toEqual([50, 'host-local: the store cannot be written']);
  });
});

describe('bad input', () => {
  // Configs are made per test: dataDir is only known then.
  it.each<[string, () => object | string, Partial<CniCall>, number]>([
    ['malformed JSON', () => '{"cniVersion":', {}, 6],
    ['an unknown version', () => ({ ...config(), cniVersion: '9.9.9' }), {}, 1],
    ['a bad CIDR', () => config({ ranges: [[{ subnet: '10.10.0.0/40' }]] }), {}, 7],
    ['a missing ipam section', () => ({ cniVersion: '1.1.0', name: 'wtnet', type: 'bridge' }), {}, 7],
    ['a gateway of the wrong family', () => config({ ranges: [[{ subnet: '10.10.0.0/24', gateway: 'fd00::1' }]] }), {}, 7],
    ['a network name leaving the store', () => ({ ...config(), name: '../../etc' }), {}, 7],
    ['a container ID leaving the store', () => config(), { containerId: '../../etc/passwd' }, 4],
    ['an oversized interface name', () => config(), { ifname: 'x'.repeat(16) }, 4],
    ['a bad CNI_ARGS address', () => config(), { args: 'IP=10.10.0.300' }, 4],
  ])('%s: the spec error, nothing written', (_, conf, fields, code) => {
    const run = call('ADD', conf(), fields);
    expect(run.code).toBe(1);
    expect(run.json.code).toBe(code);
    expect(typeof run.json.msg).toBe('string');
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('ignores corrupt and foreign files in the store', () => {
    const dir = join(dataDir, 'wtnet');
    mkdirSync(join(dir, '10.10.0.3'), { recursive: true });
    writeFileSync(join(dir, '10.10.0.2'), Buffer.from([0, 1, 2, 0xff]));
    writeFileSync(join(dir, 'last_reserved_ip.0'), 'garbage');
    writeFileSync(join(dir, 'stray'), 'c1\r\neth0');
    const add = call('ADD', config());
    expect(add.json.ips[0].address).toBe('10.10.0.4/29');
    expect(call('DEL', config()).code).toBe(0);
    expect(storeFiles()).toEqual(['10.10.0.2', '10.10.0.3', 'last_reserved_ip.0', 'lock', 'stray']);
  });
});
