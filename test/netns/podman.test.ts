// weft under Podman 4.3 from Debian with its CNI backend, as a user meets it: `weft install` into the CNI
// directories, containers run from a local root filesystem on the network by name (`--network
// weft-bridge`; Podman takes no default from file order). Podman, its storage and its run state stay in
// scratch directories, in a private mount namespace inside the test's host namespace. Podman passes the
// namespace on DEL, and the prevResult it cached.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { track } from './testing/cleanup.ts';
import { describeFailure, type CommandResult } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { uniqueName } from './testing/names.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { attachmentTraces, bridgeSubnet, busyboxRootfs, cableOutside, dirIn, expectConnected, installWeft, noTraces, PrivateRuntime, trackCgroup } from './testing/runtimes.ts';

cleanupAfterAll();

describeAsRoot('Podman 4 (CNI backend) on the network weft install writes', () => {
  let host: Netns;
  let outside: Netns;
  let scratch: string;
  let rootfs: string;
  let holder: PrivateRuntime;
  let podmanArgs: string[];
  let subnet: string;
  // The machine's cgroup the containers (and their conmon) live in.
  let cgroup: string;

  const podmanRun = (...args: string[]): CommandResult => holder.exec('env', [...podmanArgs, ...args], 60_000);
  const podman = (...args: string[]) => {
    const result = podmanRun(...args);
    if (result.status !== 0) throw new Error(describeFailure(result));
    return result.stdout;
  };
  const address = (name: string) => /inet (\S+)\//.exec(podman('exec', name, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'))?.[1];
  const pingFrom = (name: string, target: string) => podmanRun('exec', name, 'ping', '-c', '2', '-W', '2', target).status === 0;
  const traces = () => attachmentTraces(host, join(scratch, 'var-lib-cni'));

  beforeAll(() => {
    cgroup = `/${trackCgroup(uniqueName('pm'))}`;
    host = createNetns('h');
    host.ip('link', 'set', 'lo', 'up');
    outside = createNetns('o');
    scratch = createTempDir('podman');
    const netd = dirIn(scratch, 'net.d');
    const bin = dirIn(scratch, 'cni-bin');
    const installed = installWeft(host, bin, netd);
    expect(installed.status, describeFailure(installed)).toBe(0);
    subnet = bridgeSubnet(netd);
    cableOutside(host, outside, subnet);
    rootfs = busyboxRootfs(dirIn(scratch, 'rootfs'));

    // Podman's defaults search /usr/lib/cni (Debian's reference plugins) before /opt/cni/bin: a weft user
    // puts /opt/cni/bin first. Its default ulimits exceed what this sandbox may raise.
    const conf = join(scratch, 'containers.conf');
    writeFileSync(conf, [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(scratch, 'events.log')}"`,
      `tmp_dir = "${dirIn(scratch, 'libpod-tmp')}"`,
      '[network]',
      'network_backend = "cni"',
      'cni_plugin_dirs = ["/opt/cni/bin", "/usr/lib/cni"]',
      '',
    ].join('\n'));
    podmanArgs = [`CONTAINERS_CONF=${conf}`, 'podman', '--root', dirIn(scratch, 'storage'), '--runroot', dirIn(scratch, 'run'), '--storage-driver', 'vfs'];
    // Podman runs no daemon: a process holds the namespaces its commands (and conmon) run in.
    holder = new PrivateRuntime(host, {
      '/etc/cni/net.d': netd,
      '/opt/cni/bin': bin,
      '/var/lib/cni': dirIn(scratch, 'var-lib-cni'),
      // Podman pins each container's network namespace here, and keeps its locks in /dev/shm.
      '/run/netns': dirIn(scratch, 'netns'),
      '/dev/shm': dirIn(scratch, 'shm'),
    }, scratch, ['sleep', 'infinity'], join(scratch, 'holder.log'));
    track(`podman namespaces ${holder.pid}`, () => {
      podmanRun('rm', '--all', '--force', '--time', '0');
      holder.stop();
    });
  });

  it('gives two containers addresses in the installed subnet; they reach each other and, masqueraded, the outside; removal leaves nothing', () => {
    for (const name of ['one', 'two']) {
      podman('run', '--detach', '--name', name, '--cgroup-parent', cgroup, '--network', 'weft-bridge', '--rootfs', rootfs, 'sleep', '600');
    }
    expectConnected({ address, pings: pingFrom }, host, outside, subnet, join(scratch, 'var-lib-cni'));

    podman('rm', '--force', '--time', '0', 'one', 'two');
    expect(traces()).toEqual(noTraces);
  });
});
