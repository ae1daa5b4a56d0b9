// The built overlay plugin on a host running weftd (embedded store): two containers attached to the
// node's subnet through the bridge, registered with weftd as endpoints, reaching each other; DEL undoes
// ADD and deregisters; weftd registers the saved endpoints again after a restart.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callApi } from '../../lib/weftd-api/client.ts';
import { parseSubnetEnv } from '../../lib/weftd-api/subnet-env.ts';
import { formatCidr, maskedNet, netContains } from '../../lib/ip/cidr.ts';
import { parseIp } from '../../lib/ip/address.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { describeFailure } from './testing/command.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { pingOk } from './testing/overlay.ts';
import { attachmentVars, overlayConfig, runOverlay, startOverlayNode, type OverlayNode } from './testing/overlay-plugin.ts';

cleanupAfterAll();

interface AddResult {
  ips: Array<{ address: string; gateway: string }>;
  interfaces: Array<{ name: string; sandbox?: string }>;
}

async function registered(node: OverlayNode): Promise<Array<{ containerId: string; address: string; service: string; node: string }>> {
  const listed = await callApi(node.socket, 'GET', '/v1/endpoints') as { endpoints: Array<{ containerId: string; address: string; service: string; node: string }> };
  return listed.endpoints.sort((a, b) => a.containerId.localeCompare(b.containerId));
}

describeAsRoot('overlay plugin with weftd', () => {
  let node: OverlayNode;
  let containers: Netns[];
  const results: AddResult[] = [];
  const args = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=echo-0;WEFT_SERVICE=echo;WEFT_PORTS=grpc:50051';

  beforeAll(async () => {
    node = await startOverlayNode();
    containers = [createNetns('oc'), createNetns('oc')];
  }, 60_000);

  afterAll(async () => {
    await node?.daemon.stop();
  });

  it('attaches two containers to the node\'s subnet with the overlay MTU and registers both', async () => {
    const lease = parseSubnetEnv(readFileSync(node.subnetFile, 'utf8'));
    for (const [i, container] of containers.entries()) {
      const out = runOverlay(node.host.netns, attachmentVars('ADD', `ctr${i}`, container, args), overlayConfig(node));
      expect(out.status, describeFailure(out)).toBe(0);
      const result = JSON.parse(out.stdout) as AddResult;
      results.push(result);
      const ip = result.ips[0]!;
      expect(netContains(maskedNet(lease.subnet), parseIp(ip.address.split('/')[0]!))).toBe(true);
      expect(ip.gateway).toBe(formatCidr(lease.subnet).split('/')[0]);
      const [eth0] = container.ipJson<Array<{ mtu: number }>>('link', 'show', 'eth0');
      expect(eth0?.mtu).toBe(lease.mtu);
      const routes = container.ipJson<Array<{ dst: string; gateway?: string }>>('route', 'show');
      expect(routes).toContainEqual(expect.objectContaining({ dst: formatCidr(maskedNet(lease.network)), gateway: ip.gateway }));
    }
    expect(pingOk(containers[0]!, results[1]!.ips[0]!.address.split('/')[0]!)).toBe(true);
    expect(await registered(node)).toEqual([
      expect.objectContaining({ containerId: 'ctr0', node: 'node-a', service: 'echo', address: results[0]!.ips[0]!.address.split('/')[0] }),
      expect.objectContaining({ containerId: 'ctr1', node: 'node-a', service: 'echo', address: results[1]!.ips[0]!.address.split('/')[0] }),
    ]);
    expect(readdirSync(node.dataDir).sort()).toEqual(['ctr0@eth0.json', 'ctr1@eth0.json']);
  });

  it('an ADD with a bad service name fails with code 4 (CNI_ARGS) or 7 (config) and leaves nothing behind', async () => {
    const container = createNetns('oc');
    const fromArgs = runOverlay(node.host.netns, attachmentVars('ADD', 'bad', container, 'WEFT_SERVICE=Not_Valid'), overlayConfig(node));
    expect(fromArgs.status).toBe(1);
    expect(JSON.parse(fromArgs.stdout)).toMatchObject({ code: 4 });
    const fromConfig = runOverlay(node.host.netns, attachmentVars('ADD', 'bad', container), overlayConfig(node, { service: 'Not_Valid' }));
    expect(JSON.parse(fromConfig.stdout)).toMatchObject({ code: 7 });
    expect(container.ipJson('link', 'show', 'type', 'veth')).toEqual([]);
    expect(readdirSync(node.dataDir).sort()).toEqual(['ctr0@eth0.json', 'ctr1@eth0.json']);
    expect((await registered(node)).map((e) => e.containerId)).toEqual(['ctr0', 'ctr1']);
  });

  it('CHECK passes for an attached container', () => {
    const out = runOverlay(node.host.netns, attachmentVars('CHECK', 'ctr0', containers[0]!, args),
      overlayConfig(node, { prevResult: { cniVersion: '1.1.0', ...results[0] } }));
    expect(out.status, describeFailure(out)).toBe(0);
  });

  it('registers the saved endpoints again after weftd restarts', async () => {
    expect(await node.daemon.stop()).toBe(0);
    await node.restart();
    expect((await registered(node)).map((e) => e.containerId)).toEqual(['ctr0', 'ctr1']);
  });

  it('DEL removes the interface, releases the address and deregisters; a second DEL succeeds', async () => {
    const del = () => runOverlay(node.host.netns, attachmentVars('DEL', 'ctr0', containers[0]!, args), overlayConfig(node));
    const out = del();
    expect(out.status, describeFailure(out)).toBe(0);
    expect(containers[0]!.ipJson('link', 'show', 'type', 'veth')).toEqual([]);
    expect((await registered(node)).map((e) => e.containerId)).toEqual(['ctr1']);
    expect(existsSync(`${node.dataDir}/ctr0@eth0.json`)).toBe(false);
    expect(del().status).toBe(0);
    // The namespace is reusable: a new container there is attached and registered.
    const again = runOverlay(node.host.netns, attachmentVars('ADD', 'ctr2', containers[0]!, args), overlayConfig(node));
    expect(again.status, describeFailure(again)).toBe(0);
    expect((await registered(node)).map((e) => e.containerId)).toEqual(['ctr1', 'ctr2']);
  });

  it('GC deletes attachments and endpoints not in the valid list, and keeps the valid ones', async () => {
    const valid = [{ containerID: 'ctr1', ifname: 'eth0' }];
    const out = runOverlay(node.host.netns, { CNI_COMMAND: 'GC' }, overlayConfig(node, { 'cni.dev/valid-attachments': valid }));
    expect(out.status, describeFailure(out)).toBe(0);
    expect(readdirSync(node.dataDir)).toEqual(['ctr1@eth0.json']);
    expect((await registered(node)).map((e) => e.containerId)).toEqual(['ctr1']);
    // ctr2's address went back to host-local: only ctr1's is still reserved.
    const reserved = readdirSync(`${node.root}/ipam/wtov`).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    expect(reserved).toEqual([results[1]!.ips[0]!.address.split('/')[0]]);
    expect(pingOk(containers[1]!, results[1]!.ips[0]!.gateway)).toBe(true);
  });
});
