import { execSync } from 'node:child_process';
import { it } from 'vitest';
import { createHost } from './harness/hosts.ts';
import { createTempDir } from './harness/files.ts';
import { cleanupAfterAll } from './harness/suite.ts';
import { createOverlayHosts, sleep } from './overlay-fixtures.ts';
import { EtcdCluster, startWeftd, weftdReady, type NetnsProcess } from './overlay-processes.ts';
cleanupAfterAll();
it('etcd member death', async () => {
  const { underlay, hosts } = createOverlayHosts(3);
  const etcdHost = createHost(underlay, '192.0.2.100/24', 'oe');
  etcdHost.netns.ip('addr', 'add', '192.0.2.101/24', 'dev', 'ul0');
  etcdHost.netns.ip('addr', 'add', '192.0.2.102/24', 'dev', 'ul0');
  const etcd = await EtcdCluster.start(etcdHost.netns, ['192.0.2.100', '192.0.2.101', '192.0.2.102']);
  const root = createTempDir('weftd');
  console.log('root', root);
  const daemons: NetnsProcess[] = [];
  for (let i = 0; i < 3; i++) {
    daemons[i] = await startWeftd(hosts[i]!.netns, { nodeName: `node-${i + 1}`, store: { type: 'etcd', endpoints: etcd.endpoints, prefix: '/weft/test' }, network: { network: '10.244.0.0/16', vni: 42, ttl: 4 }, root });
    await weftdReady(hosts[i]!.netns, daemons[i]!);
  }
  const rss = () => execSync(`ps -o pid=,rss=,pcpu=,args= -p ${[...daemons.map((d) => d.pid), ...etcd.members.map((m) => m.pid)].join(',')} | cut -c1-80`).toString();
  console.log(rss());
  await etcd.members[0]!.stop('SIGKILL');
  for (let t = 0; t < 6; t++) { await sleep(2000); console.log(t, rss(), execSync(`wc -c ${root}/*/weftd.log`).toString()); }
  for (const d of daemons) await d.stop();
}, 120000);
