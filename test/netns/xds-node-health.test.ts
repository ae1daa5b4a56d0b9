// Endpoint health as the nodes know it, end to end: two simulated hosts run the built weftd on one etcd,
// each with a container serving "echo" (a gRPC server inside the container's namespace, attached with the
// built overlay plugin). A real xDS client (@grpc/grpc-js-xds) on host A calls xds:///echo through A's
// weftd, and a bare ADS client records what A serves.
//   - B's weftd restarting (away for several probe rounds, its data path up) leaves B's endpoint served
//     healthy throughout, and no call fails;
//   - B's weftd and data path stopping (the lease still live) gets B's endpoint served UNHEALTHY within
//     about two probe rounds, and the client stops sending to it; B coming back makes it healthy again;
//   - A restarting, with its store slow to answer, serves nothing until it has every node's endpoints: a
//     client connecting the moment A's xDS socket accepts gets B's endpoint in its first answer.
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DiscoveryRequest, DiscoveryResponse } from '../../daemon/xds/discovery-messages.ts';
import { TypeUrl } from '../../daemon/xds/resource-types.ts';
import { AdsClient, type AdsStream } from '../../daemon/xds/testing/ads-client.ts';
import { codec } from '../../daemon/xds/testing/session-context.ts';
import { XdsClientProcess } from '../../daemon/xds/testing/xds-client.ts';
import { describeFailure } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { createNetns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { eventually, sleep, type OverlayHost } from './testing/overlay.ts';
import { attachmentVars, runOverlay } from './testing/overlay-plugin.ts';
import { createEtcdHosts, NetnsProcess, nodeFiles, startWeftd, weftdReady, type EtcdCluster } from './testing/overlay-processes.ts';

cleanupAfterAll();

const backendScript = fileURLToPath(new URL('./testing/xds-backend-process.mjs', import.meta.url));
const delayScript = fileURLToPath(new URL('./testing/tcp-delay-process.mjs', import.meta.url));
const port = 50051;
const probeSeconds = 2;
const network = { network: '10.244.0.0/16', vni: 44, ttl: 120 };
const args = `IgnoreUnknown=1;WEFT_SERVICE=echo;WEFT_PORTS=grpc:${port}`;
const nodeName = (i: number) => `node-${'ab'[i]}`;

interface LoadAssignment {
  endpoints?: { lb_endpoints?: { endpoint?: { address?: { socket_address?: { address?: string } } }; health_status?: string }[] }[];
}

/**
 * "address served" or "address UNHEALTHY" (or DRAINING) for each endpoint of the "echo" load assignment in
 * `response`: clients send to HEALTHY and UNKNOWN (left out on the wire) alike.
 */
function served(response: DiscoveryResponse): string[] {
  const found: string[] = [];
  for (const packed of response.resources) {
    const cla = codec.decodeResource(packed.type_url, packed.value) as LoadAssignment;
    for (const locality of cla.endpoints ?? []) {
      for (const lb of locality.lb_endpoints ?? []) {
        const health = lb.health_status === undefined || lb.health_status === 'HEALTHY' ? 'served' : lb.health_status;
        found.push(`${lb.endpoint?.address?.socket_address?.address} ${health}`);
      }
    }
  }
  return found.sort();
}

const request = { type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['echo'] };

/** An ADS stream subscribed to "echo" that ACKs every response and hands it to `onServed`. */
function watchEcho(client: AdsClient, onServed: (endpoints: string[]) => void): AdsStream<DiscoveryRequest, DiscoveryResponse> {
  const stream = client.sotw((response) => {
    onServed(served(response));
    stream.send({ ...request, version_info: response.version_info, response_nonce: response.nonce });
  });
  stream.send({ ...request, node: { id: 'health-test', cluster: 'tests', user_agent_name: 'weft-tests' }, version_info: '', response_nonce: '' });
  return stream;
}

/** Resolves once a unix socket at `path` accepts connections. */
async function accepting(path: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(path, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${path} not accepting within ${timeoutMs} ms`);
    await sleep(5);
  }
}

describeAsRoot('endpoint health follows the nodes\' data paths, not their daemons', () => {
  let hosts: OverlayHost[];
  let root: string;
  let etcd: EtcdCluster;
  const daemons: NetnsProcess[] = [];
  const addresses: string[] = [];
  let client: XdsClientProcess | undefined;
  let ads: AdsClient | undefined;
  let stream: AdsStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  /** Every "echo" assignment host A served the bare client, in order. */
  const answers: string[][] = [];
  const xdsSocket = (i: number) => join(nodeFiles(root, nodeName(i)).stateDir, 'xds.sock');
  const start = (i: number, endpoints = etcd.endpoints) => startWeftd(hosts[i]!.netns, {
    nodeName: nodeName(i), store: { type: 'etcd', endpoints, prefix: '/weft/health' }, network, root,
    xdsListen: `unix:${xdsSocket(i)}`, intervals: { probe: probeSeconds },
  });
  const latest = () => answers.at(-1) ?? [];

  beforeAll(async () => {
    ({ hosts, etcd } = await createEtcdHosts(2));
    root = createTempDir('wthealth');
    for (let i = 0; i < 2; i++) daemons[i] = await start(i);
    for (let i = 0; i < 2; i++) await weftdReady(hosts[i]!.netns, daemons[i]!);
    // A container with its gRPC server on each host, attached as an endpoint of "echo".
    for (let i = 0; i < 2; i++) {
      const files = nodeFiles(root, nodeName(i));
      const ns = createNetns('hc');
      const backend = await NetnsProcess.start(ns, [process.execPath, backendScript, `b${i}`, String(port)]);
      await eventually(`backend b${i} bound`, () => backend.stderr.includes('ready'));
      const config = {
        cniVersion: '1.1.0', name: 'wthealth', type: 'overlay',
        subnetFile: files.subnetFile, dataDir: files.overlayDataDir, socket: files.socket, ipamDataDir: join(files.stateDir, 'ipam'),
      };
      const out = runOverlay(hosts[i]!.netns, attachmentVars('ADD', `ctr-health-${i}`, ns, args), config);
      expect(out.status, describeFailure(out)).toBe(0);
      addresses[i] = (JSON.parse(out.stdout) as { ips: { address: string }[] }).ips[0]!.address.split('/')[0]!;
    }
    ads = new AdsClient(`unix:${xdsSocket(0)}`);
    stream = watchEcho(ads, (endpoints) => answers.push(endpoints));
    await eventually('both endpoints served by A', () => latest().length === 2, 15_000);
    client = await XdsClientProcess.start(`unix:${xdsSocket(0)}`, 'echo', 'health-test', hosts[0]!.netns.name);
    await client.callsUntil((batch) => batch.includes('b0') && batch.includes('b1'));
  }, 120_000);

  afterAll(async () => {
    stream?.end();
    ads?.close();
    await client?.stop();
    await Promise.all(daemons.map((d) => d?.stop()));
  });

  it('keeps a restarting node\'s endpoints served healthy, with no call failing', async () => {
    // What A serves, sampled all along (a push in between is in `answers` too).
    const from = answers.length;
    const samples: string[][] = [];
    const sampler = setInterval(() => samples.push(latest()), 50);
    const watching = await client!.watch();
    await daemons[1]!.stop();
    // Away for three probe rounds: long enough to be found down, were the probes answered by it alone.
    await sleep(3 * probeSeconds * 1000 + 500);
    daemons[1] = await start(1);
    await weftdReady(hosts[1]!.netns, daemons[1]);
    await sleep(2 * probeSeconds * 1000);
    const calls = await watching.stop();
    clearInterval(sampler);
    expect(calls.filter((who) => who.startsWith('error'))).toEqual([]);
    expect(calls).toContain('b1');
    expect(samples.length).toBeGreaterThan(100);
    for (const answer of [...answers.slice(from), ...samples]) expect(answer).toContain(`${addresses[1]} served`);
  }, 60_000);

  it('serves a node whose data path is down as UNHEALTHY and stops the client\'s calls to it; healthy again once back', async () => {
    await daemons[1]!.stop('SIGKILL');
    hosts[1]!.netns.ip('link', 'del', `weft.${network.vni}`);
    const stopped = Date.now();
    await eventually('B served unhealthy', () => latest().includes(`${addresses[1]} UNHEALTHY`), 5 * probeSeconds * 1000);
    console.log(`B served UNHEALTHY ${Date.now() - stopped} ms after its data path stopped (probe interval ${probeSeconds} s)`);
    expect(latest()).toContain(`${addresses[0]} served`);
    await client!.callsUntil((batch) => batch.every((who) => who === 'b0'));

    daemons[1] = await start(1);
    await weftdReady(hosts[1]!.netns, daemons[1]);
    await eventually('B served healthy again', () => latest().includes(`${addresses[1]} served`), 5 * probeSeconds * 1000);
    await client!.callsUntil((batch) => batch.includes('b1'));
  }, 60_000);

  it('a restarted node, its store slow, answers only with every node\'s endpoints', async () => {
    stream!.end();
    // The same etcd behind a relay that holds every chunk 150 ms each way.
    const relay = await NetnsProcess.start(etcd.ns, [process.execPath, delayScript, '192.0.2.100', '2479', '192.0.2.100', '2379', '150']);
    await eventually('relay listening', () => relay.stderr.includes('ready'));
    await daemons[0]!.stop();
    daemons[0] = await start(0, ['http://192.0.2.100:2479']);
    await accepting(xdsSocket(0));
    const fresh = new AdsClient(`unix:${xdsSocket(0)}`, undefined, true);
    try {
      const first = await new Promise<string[]>((resolve) => {
        const s = watchEcho(fresh, (endpoints) => {
          resolve(endpoints);
          s.end();
        });
      });
      // B not probed yet by the new daemon: served as healthy, not as down.
      expect(first).toEqual([`${addresses[0]} served`, `${addresses[1]} served`].sort());
    } finally {
      fresh.close();
      await weftdReady(hosts[0]!.netns, daemons[0]);
      await daemons[0].stop();
      await relay.stop();
    }
  }, 60_000);
});
