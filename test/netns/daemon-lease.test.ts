// weftd's lease half, the built daemon against the kernel and real etcd: simulated hosts (a namespace
// each, cabled into a test-made underlay bridge) each run dist/bin/weftd; a 3-member etcd cluster listens
// on addresses of the underlay namespace. Witnesses: each daemon's /readyz and /metrics (read with curl
// inside its namespace), its subnet file and VTEP MAC file, and etcdctl against the cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EtcdCluster } from '../../daemon/lease/testing/etcd-cluster.ts';
import { track } from './testing/cleanup.ts';
import { distBin } from './testing/cni.ts';
import { cleanEnv, run, runChecked } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { createHost, createUnderlay, type SimulatedHost, type Underlay } from './testing/hosts.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';

cleanupAfterAll();

const prefix = '/weft/network';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RunningDaemon {
  readonly name: string;
  readonly host: SimulatedHost;
  readonly process: ChildProcess;
  readonly logs: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  readonly stateDir: string;
  readonly subnetFile: string;
}

describeAsRoot('weftd subnet leases across simulated hosts', () => {
  let underlay: Underlay;
  let hosts: SimulatedHost[];
  let cluster: EtcdCluster;
  let dir: string;
  let configFile: string;
  const running = new Set<RunningDaemon>();

  beforeAll(async () => {
    underlay = createUnderlay();
    // The etcd members' addresses, on the underlay bridge.
    for (const address of ['192.0.2.251/24', '192.0.2.252/24', '192.0.2.253/24']) underlay.netns.ip('addr', 'add', address, 'dev', underlay.bridge);
    hosts = [1, 2, 3].map((n) => {
      const host = createHost(underlay, `192.0.2.${n}/24`);
      host.netns.ip('route', 'add', 'default', 'via', '192.0.2.254', 'dev', host.interface);
      return host;
    });
    cluster = await EtcdCluster.start(3, { netns: underlay.netns.name, addresses: ['192.0.2.251', '192.0.2.252', '192.0.2.253'] });
    track('etcd cluster', () => cluster.stopNow());
    dir = createTempDir('weftd-lease');
    configFile = join(dir, 'weftd.json');
    writeFileSync(configFile, JSON.stringify({
      store: { type: 'etcd', endpoints: cluster.endpoints, prefix },
      network: { network: '10.244.0.0/16', subnetMax: '10.244.30.0', ttl: 2 },
    }));
  });

  afterAll(async () => {
    for (const daemon of running) daemon.process.kill('SIGKILL');
    await cluster?.stop();
  });

  function start(name: string, host: SimulatedHost, args: string[] = ['--config', configFile]): RunningDaemon {
    const stateDir = join(dir, name, 'state');
    const subnetFile = join(dir, name, 'run', 'subnet.env');
    // Every path of the daemon's is the test's own: the default API socket is shared by the whole machine.
    const apiSocket = join(dir, name, 'run', 'weftd.sock');
    const child = spawn('ip', ['netns', 'exec', host.netns.name, process.execPath, distBin('weftd'),
      '--node-name', name, '--state-dir', stateDir, '--subnet-file', subnetFile, '--api-socket', apiSocket, ...args], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    const logs: Array<Record<string, unknown>> = [];
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line.trim() !== '') logs.push(JSON.parse(line));
    });
    const daemon: RunningDaemon = {
      name, host, process: child, logs, stateDir, subnetFile,
      exited: new Promise((resolve) => child.once('exit', (code) => { running.delete(daemon); resolve(code); })),
    };
    running.add(daemon);
    return daemon;
  }

  /** GET on a daemon's local operability port, from inside its host namespace. */
  function get(daemon: RunningDaemon, path: string): { status: number; body: string } {
    const out = run('ip', ['netns', 'exec', daemon.host.netns.name, 'curl', '-s', '--max-time', '2', '-w', '\n%{http_code}', `http://127.0.0.1:9475${path}`]).stdout;
    const at = out.lastIndexOf('\n');
    return { status: Number(out.slice(at + 1)), body: out.slice(0, at) };
  }

  function metric(daemon: RunningDaemon, name: string): number | undefined {
    const line = get(daemon, '/metrics').body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  const ready = (daemon: RunningDaemon) => until(`${daemon.name} ready`, () => {
    if (daemon.process.exitCode !== null) throw new Error(`${daemon.name} exited with ${daemon.process.exitCode}: ${JSON.stringify(daemon.logs.at(-1))}`);
    return get(daemon, '/readyz').status === 200;
  });

  /** The leases in etcd, by node name (etcdctl run where the cluster is). */
  function storedLeases(): Map<string, { subnet: string; publicIp: string; vtepMac: string }> {
    const out = runChecked('ip', ['netns', 'exec', underlay.netns.name, 'etcdctl', `--endpoints=${cluster.endpoints.join(',')}`,
      'get', '--prefix', `${prefix}/subnets/`, '-w', 'json'], { env: cleanEnv({ ETCDCTL_API: '3' }) });
    const kvs = (JSON.parse(out) as { kvs?: Array<{ key: string; value: string }> }).kvs ?? [];
    return new Map(kvs.map((kv) => {
      const key = Buffer.from(kv.key, 'base64').toString();
      const record = JSON.parse(Buffer.from(kv.value, 'base64').toString()) as { nodeName: string; publicIp: string; vtepMac: string };
      return [record.nodeName, { subnet: key.slice(key.lastIndexOf('/') + 1).replace('-', '/'), publicIp: record.publicIp, vtepMac: record.vtepMac }];
    }));
  }

  async function stop(daemon: RunningDaemon): Promise<number | null> {
    daemon.process.kill('SIGTERM');
    return daemon.exited;
  }

  let daemons: RunningDaemon[];

  it('gives three daemons started at once three subnets, and each writes its state and turns ready', async () => {
    daemons = hosts.map((host, i) => start(`node${i + 1}`, host));
    await Promise.all(daemons.map(ready));
    const leases = storedLeases();
    expect([...leases.keys()].sort()).toEqual(['node1', 'node2', 'node3']);
    expect(new Set([...leases.values()].map((l) => l.subnet)).size).toBe(3);
    for (const [i, daemon] of daemons.entries()) {
      const lease = leases.get(daemon.name)!;
      expect(lease.publicIp).toBe(`192.0.2.${i + 1}`);
      expect(lease.vtepMac).toBe(readFileSync(join(daemon.stateDir, 'vtep-mac'), 'utf8').trim());
      const gateway = lease.subnet.replace(/\.0\/24$/, '.1/24');
      expect(readFileSync(daemon.subnetFile, 'utf8')).toBe(`WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=${gateway}\nWEFT_MTU=1450\nWEFT_IPMASQ=true\nWEFT_DNS_DOMAIN=weft.internal\n`);
      expect(get(daemon, '/readyz').body).toBe(`ready: ${lease.subnet}\n`);
      expect(get(daemon, '/metrics').body).toContain(`weft_lease_info{node="${daemon.name}",subnet="${lease.subnet}"`);
    }
    await until('every daemon to see two peers', () => daemons.every((d) => metric(d, 'weft_peers') === 2));
  });

  it('re-acquires a lease deleted under a running daemon, and reports it', async () => {
    const victim = daemons[1]!;
    const before = storedLeases().get(victim.name)!;
    runChecked('ip', ['netns', 'exec', underlay.netns.name, 'etcdctl', `--endpoints=${cluster.endpoints.join(',')}`,
      'del', `${prefix}/subnets/${before.subnet.replace('/', '-')}`], { env: cleanEnv({ ETCDCTL_API: '3' }) });
    await until('the lease back in the store', () => storedLeases().get(victim.name)?.subnet === before.subnet);
    expect(metric(victim, 'weft_lease_losses_total')).toBe(1);
    await until('the loss in the log', () => victim.logs.some((l) => l.level === 'error' && /lease was lost/.test(String(l.msg))));
    expect(get(victim, '/readyz').status).toBe(200);
  });

  it('changes nothing when the etcd leader dies', async () => {
    const renewals = daemons.map((d) => metric(d, 'weft_lease_renewals_total')!);
    const leader = await cluster.leader();
    await leader.kill();
    try {
      // Two TTLs: a lease would be gone if its renewals failed.
      await sleep(4500);
      const leases = storedLeases();
      for (const [i, daemon] of daemons.entries()) {
        expect(leases.has(daemon.name)).toBe(true);
        expect(get(daemon, '/readyz').status).toBe(200);
        expect(metric(daemon, 'weft_lease_renewals_total')).toBeGreaterThan(renewals[i]!);
        expect(metric(daemon, 'weft_lease_losses_total')).toBe(daemon === daemons[1] ? 1 : 0);
      }
    } finally {
      await leader.start();
      await leader.healthy();
    }
  });

  it('keeps the lease through a clean stop, so a restart gets the same subnet and VTEP MAC back', async () => {
    const first = daemons[0]!;
    const before = storedLeases().get(first.name)!;
    expect(await stop(first)).toBe(0);
    expect(first.logs.at(-1)?.msg).toMatch(/^stopped: the lease stays in the store/);
    expect(storedLeases().get(first.name)).toEqual(before);
    const again = start(first.name, first.host);
    await ready(again);
    expect(storedLeases().get(first.name)).toEqual(before);
    await until('the reuse in the log', () => again.logs.some((l) => l.msg === 'reusing this node\'s lease' && l.subnet === before.subnet));
    daemons[0] = again;
  });

  it('lets the lease of a stopped daemon expire, and the others see the peer go', async () => {
    const third = daemons[2]!;
    expect(await stop(third)).toBe(0);
    await until('the lease to expire', () => !storedLeases().has(third.name), 8000);
    await until('the peers to see it go', () => daemons.slice(0, 2).every((d) => metric(d, 'weft_peers') === 1));
  });

  it('shares an embedded store file between two daemons of one machine', async () => {
    const storeFile = join(dir, 'shared', 'leases.json');
    const embedded = join(dir, 'embedded.json');
    // VNI 2: the etcd daemons still hold VNI 1's device in these hosts, and one device has one owner; they
    // also serve the plugins of these hosts (one plugin socket per network namespace).
    writeFileSync(embedded, JSON.stringify({ network: { network: '10.50.0.0/16', ttl: 30, vni: 2 }, plugins: { serve: false } }));
    const pair = [start('solo1', hosts[0]!, ['--config', embedded, '--store-path', storeFile, '--listen', '127.0.0.1:9476']),
      start('solo2', hosts[1]!, ['--config', embedded, '--store-path', storeFile, '--listen', '127.0.0.1:9476'])];
    const at9476 = (d: RunningDaemon, path: string) => {
      const out = run('ip', ['netns', 'exec', d.host.netns.name, 'curl', '-s', '--max-time', '2', `http://127.0.0.1:9476${path}`]).stdout;
      return out;
    };
    await until('both ready', () => pair.every((d) => at9476(d, '/readyz').startsWith('ready: 10.50.')));
    const table = JSON.parse(readFileSync(storeFile, 'utf8')) as { leases: Record<string, { nodeName: string }> };
    expect(Object.values(table.leases).map((l) => l.nodeName).sort()).toEqual(['solo1', 'solo2']);
    await until('each to see the other', () => pair.every((d) => /\nweft_peers 1\n/.test(at9476(d, '/metrics'))));
    for (const d of pair) expect(await stop(d)).toBe(0);
  });

  it('stays not ready while its store cannot be read, and /readyz says why', async () => {
    const embedded = join(dir, 'embedded-broken.json');
    writeFileSync(embedded, JSON.stringify({ network: { network: '10.51.0.0/16', vni: 3 } }));
    const storeFile = join(dir, 'broken', 'leases.json');
    mkdirSync(dirname(storeFile), { recursive: true });
    writeFileSync(storeFile, '{"format": "not a lease table"');
    const broken = start('broken', hosts[2]!, ['--config', embedded, '--store-path', storeFile, '--listen', '127.0.0.1:9477']);
    const readyz = () => run('ip', ['netns', 'exec', hosts[2]!.netns.name, 'curl', '-s', '--max-time', '2', '-w', '\n%{http_code}', 'http://127.0.0.1:9477/readyz']).stdout;
    await until('the cause on /readyz', () => readyz().includes('reading the network config from the store failed (retrying): '));
    expect(readyz().endsWith('\n503')).toBe(true);
    expect(await stop(broken)).toBe(0);
  });

  it('refuses a bad config with a precise error and exit code 1, and bad flags with 2', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ network: { network: '10.244.0.0/16', subnetLen: 16 } }));
    const refused = start('bad', hosts[2]!, ['--config', bad, '--store-path', join(dir, 'bad', 'leases.json')]);
    expect(await refused.exited).toBe(1);
    expect(refused.logs.at(-1)).toMatchObject({ level: 'error', msg: 'weftd failed', code: 7 });
    expect(String(refused.logs.at(-1)?.error)).toMatch(/"network\.subnetLen" must be longer than the prefix of network 10\.244\.0\.0\/16/);
    const typo = start('typo', hosts[2]!, ['--stor', 'etcd']);
    expect(await typo.exited).toBe(2);
  });
});
