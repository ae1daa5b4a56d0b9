// weftd's DNS server on three simulated hosts sharing an etcd: containers attached with the built overlay
// plugin (dual stack) name a service, and `dig` (a real resolver client) inside a container asks its
// node's gateway — the nameserver the plugin's result gives it — for services and containers on other
// hosts (A, AAAA, SRV, PTR, over UDP and TCP, IPv4 and IPv6), for names that do not exist (NXDOMAIN or
// NODATA, with the SOA), and for a name outside the zone, which weftd forwards to a real dnsmasq on the
// underlay (the host's resolver in the node's resolv.conf) and keeps answering from its cache once dnsmasq
// is gone. A DEL leaves DNS on every node within 2 s; a query from the underlay is not answered; a corpus
// of malformed messages leaves weftd answering.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callApi, endpointPath } from '../../lib/weftd-api/client.ts';
import { describeFailure, type CommandResult } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { createHost } from './testing/hosts.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { createOverlayHosts, eventually, type OverlayHost } from './testing/overlay.ts';
import { attachmentVars, runOverlay } from './testing/overlay-plugin.ts';
import { EtcdCluster, metric, NetnsProcess, nodeFiles, startWeftd, weftdReady } from './testing/overlay-processes.ts';

cleanupAfterAll();

const corpusScript = fileURLToPath(new URL('./testing/dns-corpus-process.mjs', import.meta.url));
const network = { network: '10.244.0.0/16', ipv6Network: 'fd00:10:244::/56', vni: 53, ttl: 10 };
const upstreamAddress = '192.0.2.53';
const probeSeconds = 2;

interface Attached {
  readonly ns: Netns;
  readonly id: string;
  readonly v4: string;
  readonly v6: string;
  /** The result's dns: the node's gateways, where weftd answers. */
  readonly nameservers: string[];
  readonly search: string[];
}

function dig(from: Netns, server: string, ...args: string[]): CommandResult {
  return from.exec('dig', [`@${server}`, '+time=1', '+tries=2', ...args]);
}

/** `dig +short` lines, sorted. */
function short(from: Netns, server: string, ...args: string[]): string[] {
  return dig(from, server, '+short', ...args).stdout.trim().split('\n').filter((l) => l !== '').sort();
}

describeAsRoot('weftd answers DNS for the services and containers of every host', () => {
  let hosts: OverlayHost[];
  let root: string;
  let upstream: Netns;
  let dnsmasq: NetnsProcess;
  const daemons: NetnsProcess[] = [];
  const node = (i: number) => `node-${i + 1}`;
  let web1: Attached;
  let web2: Attached;
  let db3: Attached;
  let plain1: Attached;
  let startNode: (i: number) => Promise<void>;

  function attach(i: number, id: string, args: string, command = 'ADD', ns = createNetns('dc')): Attached {
    const files = nodeFiles(root, node(i));
    const config = {
      cniVersion: '1.0.0', name: 'wtdns', type: 'overlay',
      subnetFile: files.subnetFile, dataDir: files.overlayDataDir, socket: files.socket, ipamDataDir: join(files.stateDir, 'ipam'),
    };
    const out = runOverlay(hosts[i]!.netns, attachmentVars(command, id, ns, args ? `IgnoreUnknown=1;${args}` : 'IgnoreUnknown=1'), config);
    expect(out.status, describeFailure(out)).toBe(0);
    if (command !== 'ADD') return undefined as unknown as Attached;
    const result = JSON.parse(out.stdout) as { ips: Array<{ address: string }>; dns: { nameservers: string[]; search: string[] } };
    const ips = result.ips.map((ip) => ip.address.split('/')[0]!);
    return { ns, id, v4: ips.find((a) => !a.includes(':'))!, v6: ips.find((a) => a.includes(':'))!, ...result.dns };
  }

  beforeAll(async () => {
    let underlay;
    ({ underlay, hosts } = createOverlayHosts(3));
    const etcdHost = createHost(underlay, '192.0.2.100/24', 'de');
    upstream = createHost(underlay, `${upstreamAddress}/24`, 'du').netns;
    root = createTempDir('weftd-dns');
    const hostsFile = join(root, 'upstream.hosts');
    writeFileSync(hostsFile, '198.51.100.7 upstream.example.test\n');
    const resolvConf = join(root, 'resolv.conf');
    // First a resolver the hosts have no route to (connecting to it fails at once), then dnsmasq.
    writeFileSync(resolvConf, `# the hosts' resolvers\nnameserver 203.0.113.1\nnameserver ${upstreamAddress}\n`);
    [dnsmasq] = await Promise.all([
      NetnsProcess.start(upstream, [
        '/usr/sbin/dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', `--addn-hosts=${hostsFile}`,
        `--listen-address=${upstreamAddress}`, '--bind-interfaces', '--local-ttl=300', '--user=root', '--pid-file=', '--log-facility=-',
      ]),
      (async () => {
        const etcd = await EtcdCluster.start(etcdHost.netns, ['192.0.2.100']);
        startNode = async (i: number) => {
          daemons[i] = await startWeftd(hosts[i]!.netns, {
            nodeName: node(i), store: { type: 'etcd', endpoints: etcd.endpoints, prefix: '/weft/dns' }, network, root,
            dns: { resolvConf }, intervals: { probe: probeSeconds },
          });
          await weftdReady(hosts[i]!.netns, daemons[i]!);
        };
        await Promise.all(hosts.map((_, i) => startNode(i)));
      })(),
    ]);
    web1 = attach(0, 'web1aaaaaaaaaaaaaaaa', 'WEFT_SERVICE=web;WEFT_PORTS=http:8080');
    web2 = attach(1, 'web2bbbbbbbbbbbbbbbb', 'WEFT_SERVICE=web;WEFT_PORTS=http:8080');
    db3 = attach(2, 'db3ccccccccccccccccc', 'WEFT_SERVICE=db;WEFT_PORTS=pg:5432');
    plain1 = attach(0, 'plain1dddddddddddddd', '');
    // The gateways exist once the bridge does (the first ADD); IPv6 ones after duplicate address detection.
    for (const [i, host] of hosts.entries()) {
      await eventually(`DNS on both gateways of ${node(i)}`, () => metric(host.netns, 'weft_dns_listening_addresses') === 2, 10_000, 100);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await dnsmasq?.stop();
  });

  it('gives each container its node\'s gateways as nameservers and the zone as its first search domain', () => {
    for (const c of [web1, web2, db3, plain1]) {
      expect(c.nameservers).toHaveLength(2);
      expect(c.nameservers[0]).toBe(c.v4.replace(/\.\d+$/, '.1'));
      expect(c.nameservers[1]).toBe(c.v6.replace(/::[0-9a-f]+$/, '::1'));
      expect(c.search[0]).toBe('weft.internal');
    }
  });

  it('resolves services and containers of other hosts: A, AAAA, SRV, PTR, over UDP and TCP, at both gateways', () => {
    const [gw4, gw6] = db3.nameservers as [string, string];
    const webs = [web1.v4, web2.v4].sort();
    expect(short(db3.ns, gw4, 'web.weft.internal', 'A')).toEqual(webs);
    expect(short(db3.ns, gw4, '+tcp', 'web.weft.internal', 'A')).toEqual(webs);
    expect(short(db3.ns, gw6, 'web.weft.internal', 'A')).toEqual(webs);
    expect(short(db3.ns, gw4, 'web.weft.internal', 'AAAA')).toEqual([web1.v6, web2.v6].sort());
    expect(short(db3.ns, gw4, '_http._tcp.web.weft.internal', 'SRV')).toEqual([
      '0 1 8080 web1aaaaaaaaaaaaaaaa.web.weft.internal.', '0 1 8080 web2bbbbbbbbbbbbbbbb.web.weft.internal.',
    ]);
    expect(short(db3.ns, gw4, 'web2bbbbbbbbbbbbbbbb.web.weft.internal', 'A')).toEqual([web2.v4]);
    expect(short(db3.ns, gw4, '-x', web1.v4)).toEqual(['web1aaaaaaaaaaaaaaaa.web.weft.internal.']);
    expect(short(db3.ns, gw6, '-x', web2.v6)).toEqual(['web2bbbbbbbbbbbbbbbb.web.weft.internal.']);
    expect(short(web1.ns, web1.nameservers[0]!, 'db.weft.internal', 'A')).toEqual([db3.v4]);
    // A container that names no service has its name all the same.
    expect(short(db3.ns, gw4, 'plain1dddddddddddddd.weft.internal', 'AAAA')).toEqual([plain1.v6]);
    expect(short(db3.ns, gw4, '-x', plain1.v4)).toEqual(['plain1dddddddddddddd.weft.internal.']);
    expect(metric(hosts[2]!.netns, 'weft_dns_queries_total{type="SRV",rcode="NOERROR"}')).toBeGreaterThanOrEqual(1);
  });

  it('answers NXDOMAIN for a missing name and NODATA for a missing type, each with the zone\'s SOA', () => {
    const gw = db3.nameservers[0]!;
    const soa = /^weft\.internal\.\s+1\s+IN\s+SOA\s/m;
    const missing = dig(db3.ns, gw, '+noall', '+comments', '+authority', 'nope.weft.internal', 'A').stdout;
    expect(missing).toMatch(/status: NXDOMAIN/);
    expect(missing).toMatch(soa);
    const noData = dig(db3.ns, gw, '+noall', '+comments', '+authority', 'web.weft.internal', 'TXT').stdout;
    expect(noData).toMatch(/status: NOERROR.*\n.*ANSWER: 0/);
    expect(noData).toMatch(soa);
    expect(metric(hosts[2]!.netns, 'weft_dns_queries_total{type="A",rcode="NXDOMAIN"}')).toBeGreaterThanOrEqual(1);
  });

  it('truncates an answer too large for UDP, and answers it whole over TCP', async () => {
    // Forty endpoints of one service, registered on node 1 as the plugin would (their containers need not run).
    const base = web1.v4.replace(/\.\d+$/, '');
    const big = Array.from({ length: 40 }, (_, i) => `${base}.${100 + i}`);
    for (const [i, address] of big.entries()) {
      await callApi(nodeFiles(root, node(0)).socket, 'PUT', endpointPath(`big${i}`), { service: 'big', address, ports: [], labels: {} });
    }
    const gw = db3.nameservers[0]!;
    await eventually('the big service on node 3', () => short(db3.ns, gw, '+tcp', 'big.weft.internal', 'A').length === 40, 5000);
    const udp = dig(db3.ns, gw, '+noedns', '+ignore', 'big.weft.internal', 'A').stdout;
    expect(udp).toMatch(/flags: qr aa tc rd ra;/);
    expect(udp).toMatch(/ANSWER: 0/);
    // dig asks again over TCP on its own when it sees TC, as resolvers do.
    expect(short(db3.ns, gw, '+noedns', 'big.weft.internal', 'A')).toEqual([...big].sort());
    for (const i of big.keys()) await callApi(nodeFiles(root, node(0)).socket, 'DELETE', endpointPath(`big${i}`));
  });

  it('answers no query from the underlay', async () => {
    // Nothing listens on the underlay address...
    expect(upstream.exec('dig', ['@192.0.2.1', '+time=1', '+tries=1', 'web.weft.internal']).status).not.toBe(0);
    // ...and a query routed to a gateway from outside the overlay reaches weftd, which drops it.
    upstream.ip('route', 'add', '10.244.0.0/16', 'via', '192.0.2.1');
    const before = metric(hosts[0]!.netns, 'weft_dns_dropped_total') ?? 0;
    expect(upstream.exec('dig', [`@${web1.nameservers[0]}`, '+time=1', '+tries=1', 'web.weft.internal']).status).not.toBe(0);
    await eventually('the underlay query counted as dropped', () => (metric(hosts[0]!.netns, 'weft_dns_dropped_total') ?? 0) > before, 5000);
  });

  it('keeps answering through a corpus of malformed messages over UDP and TCP', () => {
    for (const gw of db3.nameservers) {
      const out = db3.ns.exec(process.execPath, [corpusScript, gw]);
      expect(out.status, describeFailure(out)).toBe(0);
    }
    expect(daemons[2]!.running).toBe(true);
    expect(short(db3.ns, db3.nameservers[0]!, 'db.weft.internal', 'A')).toEqual([db3.v4]);
    expect(metric(hosts[2]!.netns, 'weft_dns_queries_total{type="none",rcode="FORMERR"}')).toBeGreaterThan(0);
  });

  it('forwards other names to the host\'s resolver and answers them from its cache once that resolver is gone', async () => {
    const gw = db3.nameservers[0]!;
    expect(short(db3.ns, gw, 'upstream.example.test', 'A')).toEqual(['198.51.100.7']);
    expect(metric(hosts[2]!.netns, 'weft_dns_forwarded_total')).toBeGreaterThanOrEqual(1);
    await dnsmasq.stop();
    expect(dig(upstream, upstreamAddress, 'upstream.example.test').status).not.toBe(0);
    expect(short(db3.ns, gw, 'UPSTREAM.example.test', 'A')).toEqual(['198.51.100.7']);
    expect(metric(hosts[2]!.netns, 'weft_dns_cache_hits_total')).toBeGreaterThanOrEqual(1);
  });

  it('leaves out the endpoints of a node found down (the rule xDS follows), and answers them again once it is back', async () => {
    const gw = db3.nameservers[0]!;
    const webs = () => JSON.stringify(short(db3.ns, gw, 'web.weft.internal', 'A'));
    await daemons[1]!.stop('SIGKILL');
    hosts[1]!.netns.ip('link', 'del', `weft.${network.vni}`);
    await eventually('node-2 left out', () => webs() === JSON.stringify([web1.v4]), 5 * probeSeconds * 1000, 200);
    await startNode(1);
    await eventually('node-2 back', () => webs() === JSON.stringify([web1.v4, web2.v4].sort()), 5 * probeSeconds * 1000, 200);
  });

  it('drops a deleted container from DNS on every node within 2 s', async () => {
    attach(1, web2.id, 'WEFT_SERVICE=web;WEFT_PORTS=http:8080', 'DEL', web2.ns);
    for (const [i, host] of hosts.entries()) {
      const gw = host === hosts[2] ? db3.nameservers[0]! : [web1, web2][i]!.nameservers[0]!;
      await eventually(`web2 gone from ${node(i)}`, () => JSON.stringify(short(db3.ns, gw, 'web.weft.internal', 'A')) === JSON.stringify([web1.v4]), 2000);
    }
    expect(dig(db3.ns, db3.nameservers[0]!, '-x', web2.v4).stdout).toMatch(/status: NXDOMAIN/);
  });
});
