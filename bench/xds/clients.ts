// The benchmark's xDS clients, in a process of their own so their work does not share the server's thread:
// `count` ADS streams, each on its own connection, subscribing the way Envoy does (every cluster, then the
// load assignment of each) and ACKing every response. Resources stay packed: only the outer message is
// decoded, so the figures measure the server, not client-side parsing.
//
// argv: <server address> <count> <comma-separated services>. To the parent over IPC:
//   { version, times }: every stream has received load assignments of `version`; times are
//   process.hrtime.bigint() values (CLOCK_MONOTONIC, comparable across processes) as strings.
import { XdsCodec } from '../../daemon/xds/codec.ts';
import type { DiscoveryResponse } from '../../daemon/xds/discovery-messages.ts';
import { TypeUrl } from '../../daemon/xds/resource-types.ts';
import { AdsClient } from '../../daemon/xds/testing/ads-client.ts';

const [address, countText, servicesText] = process.argv.slice(2) as [string, string, string];
const count = Number(countText);
const services = servicesText.split(',');
const codec = new XdsCodec();
const arrivals = new Map<string, bigint[]>();

function arrived(version: string, at: bigint): void {
  const times = arrivals.get(version) ?? [];
  times.push(at);
  arrivals.set(version, times);
  if (times.length === count) process.send!({ version, times: times.map(String) });
}

for (let i = 0; i < count; i++) {
  const client = new AdsClient(address, codec, true);
  const names = new Map<string, string[]>([[TypeUrl.Cluster, []], [TypeUrl.ClusterLoadAssignment, services]]);
  const stream = client.sotw((response: DiscoveryResponse) => {
    const at = process.hrtime.bigint();
    stream.send({
      type_url: response.type_url, resource_names: names.get(response.type_url)!,
      version_info: response.version_info, response_nonce: response.nonce,
    });
    if (response.type_url === TypeUrl.ClusterLoadAssignment) arrived(response.version_info, at);
  });
  const node = { id: `bench-${i}`, cluster: 'bench', user_agent_name: 'weft-bench' };
  for (const [type_url, resource_names] of names) stream.send({ node, type_url, resource_names, version_info: '', response_nonce: '' });
}
process.on('disconnect', () => process.exit(0));
