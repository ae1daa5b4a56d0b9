// weft under containerd 1.6 from Debian, as a user meets it: `weft install` into the CNI directories, a
// private containerd (own root, state and socket; no CRI plugin), and `ctr run --cni`, which runs the first
// network config in /etc/cni/net.d with the plugins in /opt/cni/bin and caches results in /var/lib/cni.
// ctr sends ADD with the task's namespace and DEL with no namespace at all, so DEL has the cached
// prevResult — or, when containerd refused the ADD's result, nothing — to go on.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { track } from './testing/cleanup.ts';
import { describeFailure } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { uniqueName } from './testing/names.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import {
  attachmentTraces, bridgeSubnet, busyboxRootfs, cableOutside, dirIn, editJson, expectConnected, installWeft, noTraces, ociImageTar, PrivateRuntime, trackCgroup,
} from './testing/runtimes.ts';

cleanupAfterAll();

const IMAGE = 'docker.io/weft/busybox:test';
// Podman 4's own network (the file its Debian package puts in /etc/cni/net.d), abridged.
const podmanNetwork = {
  cniVersion: '0.4.0',
  name: 'podman',
  plugins: [{ type: 'bridge', bridge: 'cni-podman0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }]] } }],
};

describeAsRoot('containerd 1.6 (ctr run --cni) with the configs weft install writes', () => {
  let host: Netns;
  let outside: Netns;
  let scratch: string;
  let netd: string;
  let bin: string;
  let containerd: PrivateRuntime;
  let socket: string;
  let subnet: string;

  // A containerd namespace of its own: runc puts each container in the machine's cgroup /NAMESPACE/ID.
  let namespace: string;
  const ctrArgs = (...args: string[]) => ['--address', socket, '--namespace', namespace, ...args];
  const ctr = (...args: string[]) => {
    const result = containerd.exec('ctr', ctrArgs(...args));
    if (result.status !== 0) throw new Error(describeFailure(result));
    return result.stdout;
  };
  /** `ctr run --rm --cni`: runs until the task is killed, then DEL and removal. */
  const runContainer = (id: string) => containerd.start('ctr', ctrArgs('run', '--rm', '--cni', IMAGE, id, 'sleep', '600'));
  const waitRunning = async (id: string) => {
    for (let i = 0; i < 100; i++) {
      if (new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, 'm').test(ctr('task', 'ls'))) return;
      await new Promise((wake) => setTimeout(wake, 100));
    }
    throw new Error(`task ${id} is not running`);
  };
  const address = (id: string) => /inet (\S+)\//.exec(ctr('task', 'exec', '--exec-id', `addr-${id}`, id, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'))?.[1];
  const pingFrom = (id: string, target: string) => containerd.exec('ctr', ctrArgs('task', 'exec', '--exec-id', `ping-${id}`, id, 'ping', '-c', '2', '-W', '2', target)).status === 0;
  const traces = () => attachmentTraces(host, join(scratch, 'var-lib-cni'));
  const removeContainer = (id: string) => {
    containerd.exec('ctr', ctrArgs('task', 'rm', '-f', id));
    containerd.exec('ctr', ctrArgs('containers', 'rm', id));
  };

  beforeAll(() => {
    namespace = trackCgroup(uniqueName('ct'));
    host = createNetns('h');
    host.ip('link', 'set', 'lo', 'up');
    outside = createNetns('o');
    scratch = createTempDir('containerd');
    netd = dirIn(scratch, 'net.d');
    bin = dirIn(scratch, 'cni-bin');

    // Beside Podman's network weft's sorts after it, so containerd keeps using Podman's; --default takes over.
    writeFileSync(join(netd, '87-podman-bridge.conflist'), JSON.stringify(podmanNetwork));
    const installed = installWeft(host, bin, netd);
    expect(installed.status, describeFailure(installed)).toBe(0);
    expect(installed.stdout).toContain(`default network in ${netd}: podman (87-podman-bridge.conflist), unchanged\n`);
    const taken = installWeft(host, bin, netd, '--default', 'weft-bridge', '--force');
    expect(taken.status, describeFailure(taken)).toBe(0);
    expect(taken.stdout).toContain(`default network in ${netd}: weft-bridge (10-weft-bridge.conflist), was podman (87-podman-bridge.conflist)\n`);
    subnet = bridgeSubnet(netd);
    cableOutside(host, outside, subnet);

    const root = dirIn(scratch, 'root');
    const state = dirIn(scratch, 'state');
    socket = join(dirIn(scratch, 'run'), 'containerd.sock');
    const config = join(scratch, 'config.toml');
    writeFileSync(config, [
      'version = 2',
      `root = "${root}"`,
      `state = "${state}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${dirIn(scratch, 'opt-containerd')}"`,
      '',
    ].join('\n'));
    containerd = new PrivateRuntime(host, {
      '/etc/cni/net.d': netd,
      '/opt/cni/bin': bin,
      '/var/lib/cni': dirIn(scratch, 'var-lib-cni'),
      // The shims' sockets and runc's state: fixed paths under /run/containerd in containerd 1.6.
      '/run/containerd': dirIn(scratch, 'run-containerd'),
    }, scratch, ['containerd', '--config', config], join(scratch, 'containerd.log'));
    track(`containerd ${containerd.pid}`, () => {
      // Tasks first: a live task keeps its shim, and the shim the mount namespace.
      for (const id of containerd.exec('ctr', ctrArgs('containers', 'ls', '-q')).stdout.split('\n').filter(Boolean)) removeContainer(id);
      containerd.stop();
    });
    for (let i = 0; containerd.exec('ctr', ctrArgs('version')).status !== 0; i++) {
      if (i === 100) throw new Error(`containerd did not start: ${readFileSync(join(scratch, 'containerd.log'), 'utf8').slice(-2000)}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
    ctr('images', 'import', ociImageTar(busyboxRootfs(dirIn(scratch, 'rootfs')), dirIn(scratch, 'image'), IMAGE));
  });

  it('gives two containers addresses in the installed subnet; they reach each other and, masqueraded, the outside; removal leaves nothing', async () => {
    const one = runContainer('one');
    const two = runContainer('two');
    await waitRunning('one');
    await waitRunning('two');
    expectConnected({ address, pings: pingFrom }, host, outside, subnet, join(scratch, 'var-lib-cni'));
    expect(traces().cached).toHaveLength(2);

    ctr('task', 'kill', '-s', 'KILL', 'one');
    ctr('task', 'kill', '-s', 'KILL', 'two');
    for (const done of [await one, await two]) expect(done.status, describeFailure(done)).toBe(137);
    expect(ctr('containers', 'ls', '-q').trim()).toBe('');
    expect(traces()).toEqual(noTraces);
  });

  it('cleans up after a result containerd refuses (cniVersion 1.1.0): its DEL has neither prevResult nor netns', async () => {
    const confFile = join(netd, '10-weft-bridge.conflist');
    editJson(confFile, (conf) => void (conf.cniVersion = '1.1.0'));
    try {
      const refused = await runContainer('refused');
      expect(refused.stderr).toContain('unsupported CNI result version "1.1.0"');
      // The task outlives ctr (created, never started), and with it the container's namespace: only DEL can
      // have removed the veth.
      expect(ctr('task', 'ls')).toMatch(/^refused\s+\d+\s+CREATED/m);
      expect(traces()).toEqual(noTraces);
    } finally {
      editJson(confFile, (conf) => void (conf.cniVersion = '1.0.0'));
      removeContainer('refused');
    }
  });

  it('weft install refuses a subnet the host already routes, and changes nothing', () => {
    const files = () => readdirSync(netd).map((name) => [name, readFileSync(join(netd, name), 'utf8')]);
    const before = files();
    host.ip('route', 'add', '10.77.0.0/16', 'dev', 'up0');
    try {
      const refused = installWeft(host, bin, netd, '--force', '--subnet', '10.77.128.0/24');
      expect(refused.status).toBe(1);
      expect(JSON.parse(refused.stdout)).toMatchObject({ code: 7, msg: 'subnet 10.77.128.0/24 of weft-bridge collides: the host routes 10.77.0.0/16 to up0' });
    } finally {
      host.ip('route', 'del', '10.77.0.0/16', 'dev', 'up0');
    }
    expect(files()).toEqual(before);
  });
});
