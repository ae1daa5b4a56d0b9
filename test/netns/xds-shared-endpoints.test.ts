// Endpoints shared through etcd: two simulated hosts run the built weftd on one etcd member (in a namespace
// of its own on the underlay); a container attached with the built overlay plugin on host A shows up in the
// xDS answer of host B's weftd, read with a bare ADS client over B's unix-socket xDS server, and vanishes
// when the container is deleted, and when A's daemon stops and its lease expires (from etcd too).
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DiscoveryResponse } from '../../daemon/xds/discovery-messages.ts';
import { TypeUrl } from '../../daemon/xds/resource-types.ts';
import { AdsClient, type AdsStream } from '../../daemon/xds/testing/ads-client.ts';
import { codec } from '../../daemon/xds/testing/session-context.ts';
import type { DiscoveryRequest } from '../../daemon/xds/discovery-messages.ts';
import { describeFailure } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { eventually, type OverlayHost } from './testing/overlay.ts';
import { attachmentVars, runOverlay } from './testing/overlay-plugin.ts';
import { createEtcdHosts, nodeFiles, startWeftd, weftdReady, type EtcdCluster, type NetnsProcess } from './testing/overlay-processes.ts';

cleanupAfterAll();

const ttl = 3;
const network = { network: '10.244.0.0/16', vni: 43, ttl };
const args = 'IgnoreUnknown=1;WEFT_SERVICE=echo;WEFT_PORTS=grpc:50051';

interface LoadAssignment {
  endpoints?: { locality?: { zone?: string; sub_zone?: string }; lb_endpoints?: { endpoint?: { address?: { socket_address?: { address?: string } } } }[] }[];
}

/** The addresses in the "echo" load assignment of a response, sorted. */
function addresses(response: DiscoveryResponse): string[] {
  const found: string[] = [];
  for (const packed of response.resources) {
    const cla = codec.decodeResource(packed.type_url, packed.value) as LoadAssignment;
    for (const locality of cla.endpoints ?? []) {
      for (const lb of locality.lb_endpoints ?? []) found.push(lb.endpoint?.address?.socket_address?.address ?? '?');
    }
  }
  return found.sort();
}

describeAsRoot('endpoints shared through etcd: one host\'s container is served by the other host\'s xDS server', () => {
  let hosts: OverlayHost[];
  let root: string;
  let etcd: EtcdCluster;
  const daemons: NetnsProcess[] = [];
  let client: AdsClient | undefined;
  let stream: AdsStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  /** What host B's xDS server last answered for "echo". */
  let served: string[] | undefined;
  const node = (i: number) => `node-${'ab'[i]}`;

  /** Runs the overlay plugin on host A for `containerId` in `ns`; ADD answers with the container's address. */
  function overlayOnA(command: string, containerId: string, ns: Netns): string | undefined {
    const files = nodeFiles(root, node(0));
    const config = {
      cniVersion: '1.1.0', name: 'wtshare', type: 'overlay',
      subnetFile: files.subnetFile, dataDir: files.overlayDataDir, socket: files.socket, ipamDataDir: join(files.stateDir, 'ipam'),
    };
    const out = runOverlay(hosts[0]!.netns, attachmentVars(command, containerId, ns, args), config);
    expect(out.status, describeFailure(out)).toBe(0);
    if (command !== 'ADD') return undefined;
    const result = JSON.parse(out.stdout) as { ips: { address: string }[] };
    return result.ips[0]!.address.split('/')[0];
  }

  beforeAll(async () => {
    ({ hosts, etcd } = await createEtcdHosts(2));
    root = createTempDir('wtshare');
    for (let i = 0; i < 2; i++) {
      const xdsListen = `unix:${join(nodeFiles(root, node(i)).stateDir, 'xds.sock')}`;
      daemons[i] = await startWeftd(hosts[i]!.netns, { nodeName: node(i), store: { type: 'etcd', endpoints: etcd.endpoints, prefix: '/weft/share' }, network, root, xdsListen });
    }
    for (let i = 0; i < 2; i++) await weftdReady(hosts[i]!.netns, daemons[i]!);
    client = new AdsClient(`unix:${join(nodeFiles(root, node(1)).stateDir, 'xds.sock')}`);
    const request = { type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['echo'] };
    stream = client.sotw((response) => {
      served = addresses(response);
      stream!.send({ ...request, version_info: response.version_info, response_nonce: response.nonce });
    });
    stream.send({ ...request, node: { id: 'share-test', cluster: 'tests', user_agent_name: 'weft-tests' }, version_info: '', response_nonce: '' });
    await eventually('host B\'s first answer', () => served !== undefined);
  }, 90_000);

  afterAll(async () => {
    stream?.end();
    client?.close();
    await Promise.all(daemons.map((d) => d.stop()));
  });

  it('serves a container added on host A from host B, and drops it when it is deleted', async () => {
    expect(served).toEqual([]);
    const container = createNetns('oc');
    const address = overlayOnA('ADD', 'ctr-share-1', container);
    expect(address).toMatch(/^10\.244\./);
    await eventually('the endpoint on host B', () => served?.includes(address!) === true);
    overlayOnA('DEL', 'ctr-share-1', container);
    await eventually('the endpoint gone from host B', () => served?.length === 0);
  });

  it('drops host A\'s endpoints once A stops and its lease expires', async () => {
    const container = createNetns('oc');
    const address = overlayOnA('ADD', 'ctr-share-2', container);
    await eventually('the endpoint on host B', () => served?.includes(address!) === true);
    // A clean stop leaves the lease (and the stored endpoint) to its TTL: the lease's expiry hides it.
    await daemons[0]!.stop();
    await eventually('the endpoint gone with A\'s lease', () => served?.length === 0, (ttl + 3) * 1000, 20);
    // Gone from the store too, not only from what is served (etcdctl: an independent reader of etcd).
    const keys = etcd.ns.exec('etcdctl', ['--endpoints', etcd.endpoints[0]!, 'get', '--prefix', '--keys-only', '/weft/share/endpoints/']);
    expect(keys.status, keys.stderr).toBe(0);
    expect(keys.stdout.trim()).toBe('');
  }, 20_000);
});
