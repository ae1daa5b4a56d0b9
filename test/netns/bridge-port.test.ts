// The bridge port and the container interface as the options shape them — hairpin, isolation, VLAN access
// and trunk ports, the VLAN gateway, MTU, MAC, promiscuous mode, MAC spoof check, layer 2 only — read back
// from the kernel with `ip -j -d link`, `bridge -j vlan` and `nft -j`.
import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, describeAsRoot, isRoot } from './testing/suite.ts';
import { pings, ruleset } from './testing/nat.ts';
import {
  BridgeHost, addresses, bridgeName, createContainer, errorOf, hostState, kernelHasVlanFiltering, link, portVlans, ports, weftChains,
  type AddResult,
} from './testing/bridge.ts';

cleanupAfterAll();

const ipam = (subnet: string) => ({ type: 'host-local', subnet });

function hostVeth(result: AddResult): string {
  return result.interfaces[1]!.name;
}

describeAsRoot('bridge: port options', () => {
  it('sets hairpin mode on the port, and leaves it off by default', () => {
    const host = new BridgeHost();
    const plain = host.add({ containerId: 'plain', netns: createContainer() }, host.config({ ipam: ipam('10.50.0.0/24') }));
    const hairpin = host.add({ containerId: 'hairpin', netns: createContainer() }, host.config({ hairpinMode: true, ipam: ipam('10.50.0.0/24') }));
    expect(link(host.netns, hostVeth(plain)).linkinfo?.info_slave_data).toMatchObject({ hairpin: false, isolated: false });
    expect(link(host.netns, hostVeth(hairpin)).linkinfo?.info_slave_data).toMatchObject({ hairpin: true });
  });

  it('isolates the port with portIsolation: isolated ports cannot reach each other', () => {
    const host = new BridgeHost();
    const config = host.config({ portIsolation: true, ipam: ipam('10.51.0.0/24') });
    const a = createContainer();
    const b = createContainer();
    const first = host.add({ containerId: 'a', netns: a }, config);
    host.add({ containerId: 'b', netns: b }, config);
    expect(link(host.netns, hostVeth(first)).linkinfo?.info_slave_data).toMatchObject({ isolated: true });
    expect(pings(a, '10.51.0.3')).toBe(false);
  });

  it('sets the MTU on both veth ends and on a bridge it creates', () => {
    const host = new BridgeHost();
    const container = createContainer();
    const result = host.add({ containerId: 'mtu', netns: container }, host.config({ mtu: 1400, ipam: ipam('10.55.0.0/24') }));
    expect(link(container, 'eth0').mtu).toBe(1400);
    expect(link(host.netns, hostVeth(result)).mtu).toBe(1400);
    expect(link(host.netns, bridgeName).mtu).toBe(1400);
  });

  it('gives the container interface the MAC asked for: runtimeConfig over args over CNI_ARGS', () => {
    const host = new BridgeHost();
    const base = { ipam: ipam('10.56.0.0/24') };
    const cniArgs = 'IgnoreUnknown=1;K8S_POD_NAME=web;MAC=02:00:00:00:0a:01';
    const fromEnv = createContainer();
    host.add({ containerId: 'mac1', netns: fromEnv, args: cniArgs }, host.config(base));
    expect(link(fromEnv, 'eth0').address).toBe('02:00:00:00:0a:01');
    const fromArgs = createContainer();
    host.add({ containerId: 'mac2', netns: fromArgs, args: cniArgs }, host.config({ ...base, args: { cni: { mac: '02:00:00:00:0a:02' } } }));
    expect(link(fromArgs, 'eth0').address).toBe('02:00:00:00:0a:02');
    const fromRuntime = createContainer();
    const result = host.add(
      { containerId: 'mac3', netns: fromRuntime, args: cniArgs },
      host.config({ ...base, args: { cni: { mac: '02:00:00:00:0a:02' } }, runtimeConfig: { mac: '02:00:00:00:0a:03' } }),
    );
    expect(link(fromRuntime, 'eth0').address).toBe('02:00:00:00:0a:03');
    expect(result.interfaces[2]!.mac).toBe('02:00:00:00:0a:03');
  });

  it('sets promiscuous mode on the bridge with promiscMode', () => {
    const host = new BridgeHost();
    host.add({ containerId: 'promisc', netns: createContainer() }, host.config({ promiscMode: true, ipam: ipam('10.57.0.0/24') }));
    expect(link(host.netns, bridgeName).flags).toContain('PROMISC');
  });

  it('drops frames with another source MAC from the port with macspoofchk, and removes the check on DEL', () => {
    const host = new BridgeHost();
    const container = createContainer();
    const config = host.config({ isGateway: true, macspoofchk: true, ipam: ipam('10.58.0.0/24') });
    const result = host.add({ containerId: 'spoof', netns: container }, config);
    const chains = ruleset(host.netns).chains.filter((c) => c.table === 'weft');
    expect(chains).toEqual([expect.objectContaining({ family: 'netdev', hook: 'ingress', name: expect.stringMatching(/^spoof-/) })]);
    expect(pings(container, '10.58.0.1')).toBe(true);
    container.ip('link', 'set', 'eth0', 'address', '02:00:00:00:66:66');
    host.netns.ip('neigh', 'flush', 'dev', bridgeName);
    expect(pings(container, '10.58.0.1')).toBe(false);
    container.ip('link', 'set', 'eth0', 'address', result.interfaces[2]!.mac!);
    expect(pings(container, '10.58.0.1')).toBe(true);
    host.ok('DEL', { containerId: 'spoof', netns: container }, config);
    expect(weftChains(host.netns)).toEqual([]);
  });
});

const noVlanFiltering = isRoot && !kernelHasVlanFiltering();
if (noVlanFiltering) process.stderr.write('bridge VLAN tests skipped: this kernel has no VLAN-aware bridges (CONFIG_BRIDGE_VLAN_FILTERING)\n');

describeAsRoot('bridge: VLANs', () => {
  it.skipIf(!noVlanFiltering)('fails with code 100 and leaves nothing behind where the kernel has no VLAN-aware bridges', () => {
    const host = new BridgeHost();
    const container = createContainer();
    const before = hostState(host, container);
    const error = errorOf(host.run('ADD', { containerId: 'vlan', netns: container }, host.config({ vlan: 100, ipam: ipam('10.52.0.0/24') })));
    expect(error).toMatchObject({ code: 100, msg: 'failed to set up bridge' });
    expect(hostState(host, container)).toEqual(before);
  });

  describe.skipIf(noVlanFiltering)(noVlanFiltering ? 'VLAN ports (skipped: no VLAN-aware bridges in this kernel)' : 'VLAN ports', () => {
    it('makes an access port: the VLAN as PVID and untagged, the default VLAN removed, the bridge VLAN-aware', () => {
      const host = new BridgeHost();
      const result = host.add({ containerId: 'access', netns: createContainer() }, host.config({ vlan: 100, ipam: ipam('10.52.0.0/24') }));
      expect(portVlans(host.netns, hostVeth(result))).toEqual([{ vlan: 100, flags: ['PVID', 'Egress Untagged'] }]);
      expect(link(host.netns, bridgeName).linkinfo?.info_data).toMatchObject({ vlan_filtering: 1 });
    });

    it('keeps the default VLAN with preserveDefaultVlan', () => {
      const host = new BridgeHost();
      const result = host.add({ containerId: 'keep', netns: createContainer() }, host.config({ vlan: 100, preserveDefaultVlan: true, ipam: ipam('10.52.0.0/24') }));
      expect(portVlans(host.netns, hostVeth(result))).toEqual([{ vlan: 1 }, { vlan: 100, flags: ['PVID', 'Egress Untagged'] }]);
    });

    it('makes a trunk port: the listed VLANs tagged, VLAN 1 native', () => {
      const host = new BridgeHost();
      const config = host.config({ vlanTrunk: [{ minID: 200, maxID: 202 }, { id: 300 }], ipam: ipam('10.53.0.0/24') });
      const result = host.add({ containerId: 'trunk', netns: createContainer() }, config);
      expect(portVlans(host.netns, hostVeth(result))).toEqual([
        { vlan: 1, flags: ['PVID', 'Egress Untagged'] },
        { vlan: 200 },
        { vlan: 201 },
        { vlan: 202 },
        { vlan: 300 },
      ]);
    });

    it('puts the gateway of a VLAN on <bridge>.<vid>, inside that VLAN, and containers reach it', () => {
      const host = new BridgeHost();
      const container = createContainer();
      const config = host.config({ vlan: 42, isDefaultGateway: true, ipam: ipam('10.54.0.0/24') });
      const result = host.add({ containerId: 'vlan-gw', netns: container }, config);
      const gateway = `${bridgeName}.42`;
      expect(result.interfaces[3]).toEqual({ name: gateway, mac: link(host.netns, gateway).address });
      expect(addresses(host.netns, gateway)).toEqual(['10.54.0.1/24']);
      expect(addresses(host.netns, bridgeName)).toEqual([]);
      const gatewayPort = ports(host.netns).find((p) => p !== hostVeth(result))!;
      expect(portVlans(host.netns, gatewayPort)).toEqual([{ vlan: 42, flags: ['PVID', 'Egress Untagged'] }]);
      expect(pings(container, '10.54.0.1')).toBe(true);
      // A second container reuses the gateway interface.
      const again = host.add({ containerId: 'vlan-gw2', netns: createContainer() }, config);
      expect(again.interfaces[3]!.name).toBe(gateway);
      expect(ports(host.netns)).toHaveLength(3);
    });
  });
});

describeAsRoot('bridge: layer 2 only', () => {
  it('without IPAM, brings the container interface up and reports no addresses', () => {
    const host = new BridgeHost();
    const container = createContainer();
    const result = host.add({ containerId: 'l2', netns: container }, host.config({}));
    expect(result.ips).toBeUndefined();
    expect(result.interfaces).toHaveLength(3);
    expect(link(container, 'eth0').flags).toContain('UP');
    expect(link(host.netns, hostVeth(result)).operstate).toBe('UP');
    host.ok('DEL', { containerId: 'l2', netns: container }, host.config({}));
    expect(ports(host.netns)).toEqual([]);
  });

  it('with disableContainerInterface, leaves the container interface down and does not wait for the port', () => {
    const host = new BridgeHost();
    const container = createContainer();
    host.add({ containerId: 'down', netns: container }, host.config({ disableContainerInterface: true }));
    expect(link(container, 'eth0').flags).not.toContain('UP');
  });
});
