// Namespaces and sysctls: requests made through a handle happen in its namespace, while this process
// and every one of its threads (libuv's pool included) stay where they were, also when a request fails
// halfway. Sysctls are checked against `ip netns exec NS cat /proc/sys/...`.
import { spawn } from 'node:child_process';
import { promises, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, expect, it } from 'vitest';
import { Netlink, sysctlGet, sysctlSet, withNetlink } from '../../lib/netlink/index.ts';
import { track } from './testing/cleanup.ts';
import { repoRoot } from './testing/cni.ts';
import { run, runChecked } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { failureOf } from './testing/netlink.ts';

cleanupAfterAll();

interface Namespaces {
  process: string;
  threads: string[];
}

function namespaces(): Namespaces {
  return {
    process: readlinkSync('/proc/self/ns/net'),
    threads: readdirSync('/proc/self/task').map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`)),
  };
}

/** A namespace file's identity in readlink's form (a bind mount under /run/netns cannot be read as a link). */
function namespaceOf(path: string): string {
  return `net:[${statSync(path).ino}]`;
}

/** What a pool thread of libuv sees: readlink runs there, and /proc/thread-self is that thread. */
async function poolThreadNamespace(): Promise<string[]> {
  return Promise.all(Array.from({ length: 8 }, () => promises.readlink('/proc/thread-self/ns/net')));
}

describeAsRoot('netlink: namespaces and sysctls', () => {
  let ns: Netns;
  let home: string;

  beforeAll(async () => {
    ns = createNetns('ns');
    home = readlinkSync('/proc/self/ns/net');
    await poolThreadNamespace(); // libuv's pool exists before the first switch
  });

  it('works inside the namespace while the process and all its threads stay home, also on failures', async () => {
    const before = namespaces();
    expect(before.threads.length).toBeGreaterThan(1);
    expect(new Set(before.threads)).toEqual(new Set([home]));
    expect(namespaceOf(ns.path)).not.toBe(home);

    const nl = Netlink.open(ns.path);
    try {
      nl.linkAdd({ kind: 'bridge', name: 'nsbr0' });
      // The socket lists the namespace's links, not the host's.
      expect(nl.linkList().map((l) => l.name).sort()).toEqual(ns.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname).sort());
      // Failures at each stage: in the kernel, opening a peer namespace, entering a namespace.
      expect(failureOf(() => nl.linkAdd({ kind: 'bridge', name: 'nsbr0' })).kind).toBe('exists');
      expect(failureOf(() => nl.linkAdd({ kind: 'veth', name: 'v0', peer: { name: 'p0', namespace: '/run/netns/wt-does-not-exist' } })).kind).toBe('notFound');
    } finally {
      nl.close();
    }
    expect(failureOf(() => Netlink.open('/run/netns/wt-does-not-exist')).message).toContain('open netlink socket in network namespace /run/netns/wt-does-not-exist');
    const notNs = failureOf(() => Netlink.open('/proc/self/status'));
    expect(notNs).toMatchObject({ code: 'EINVAL', extack: 'not a network namespace' });
    expect(failureOf(() => sysctlGet(ns.path, 'net/ipv4/no_such_key')).kind).toBe('notFound');

    expect(namespaces()).toEqual(before);
    expect(new Set(await poolThreadNamespace())).toEqual(new Set([home]));
    expect(run('ip', ['-n', ns.name, 'link', 'show', 'nsbr0']).status).toBe(0);
  });

  it('leaves a fresh process home when its thread pool starts only after the switching', async () => {
    const dir = createTempDir('nlchild');
    const out = join(dir, 'child.cjs');
    await build({
      entryPoints: [join(repoRoot, 'test/netns/testing/netlink-namespace-child.ts')],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      logLevel: 'error',
      // The addon is found relative to lib/netlink, as in a source run.
      define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(repoRoot, 'lib/netlink/addon.ts')).href) },
    });
    const result = run(process.execPath, [out, ns.path]);
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { before: Namespaces; afterWork: Namespaces; afterPool: Namespaces; poolThread: string; outcomes: string[] };
    expect(report.outcomes[0]).toMatch(/add bridge link childbr0 .*EEXIST/);
    expect(report.outcomes[1]).toMatch(/ENOENT/);
    expect(report.outcomes[2]).toMatch(/set sysctl .*EINVAL/);
    expect(report.outcomes[3]).toMatch(/ENOENT/);
    expect(report.before.process).toBe(home);
    expect(report.afterWork).toEqual(report.before);
    expect(report.afterPool.threads.length).toBeGreaterThan(report.before.threads.length);
    expect(new Set([report.afterPool.process, ...report.afterPool.threads, report.poolThread])).toEqual(new Set([home]));
    expect(run('ip', ['-n', ns.name, 'link', 'show', 'childbr0']).status).toBe(0);
  });

  it('opens namespaces given as /proc/PID/ns/net', async () => {
    const sleeper = spawn('ip', ['netns', 'exec', ns.name, 'sleep', '60'], { stdio: 'ignore' });
    const stop = track(`sleep in ${ns.name}`, () => sleeper.kill());
    try {
      // `ip netns exec` enters the namespace, then execs sleep in the same process.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const path = `/proc/${sleeper.pid}/ns/net`;
      expect(namespaceOf(path)).toBe(namespaceOf(ns.path));
      const names = withNetlink(path, (nl) => nl.linkList().map((l) => l.name).sort());
      expect(names).toEqual(ns.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname).sort());
    } finally {
      stop();
    }
  });

  it('reads and writes sysctls as the namespace sees them', () => {
    const hostForwarding = runChecked('cat', ['/proc/sys/net/ipv4/ip_forward']).trim();
    expect(sysctlGet(undefined, 'net.ipv4.ip_forward')).toBe(hostForwarding);

    sysctlSet(ns.path, 'net.ipv4.ip_forward', 1);
    expect(ns.exec('cat', ['/proc/sys/net/ipv4/ip_forward']).stdout.trim()).toBe('1');
    expect(sysctlGet(ns.path, 'net/ipv4/ip_forward')).toBe('1');
    sysctlSet(ns.path, 'net/ipv4/ip_forward', '0');
    expect(ns.exec('cat', ['/proc/sys/net/ipv4/ip_forward']).stdout.trim()).toBe('0');

    withNetlink(ns.path, (nl) => nl.linkAdd({ kind: 'bridge', name: 'br0.7' }));
    sysctlSet(ns.path, 'net/ipv6/conf/br0.7/disable_ipv6', 1);
    expect(ns.exec('cat', ['/proc/sys/net/ipv6/conf/br0.7/disable_ipv6']).stdout.trim()).toBe('1');
    expect(runChecked('cat', ['/proc/sys/net/ipv4/ip_forward']).trim()).toBe(hostForwarding);

    const bad = failureOf(() => sysctlSet(ns.path, 'net/ipv4/ip_forward', 'yes please'));
    expect(bad.message).toBe(`set sysctl net/ipv4/ip_forward=yes please in ${ns.path}: invalid argument (EINVAL)`);
  });

  it('closes handles: withNetlink after its function, also when it throws', () => {
    let kept: Netlink | undefined;
    expect(() => withNetlink(ns.path, (nl) => { kept = nl; throw new Error('boom'); })).toThrow('boom');
    expect(() => kept!.linkList()).toThrow('netlink handle is closed');
  });
});
