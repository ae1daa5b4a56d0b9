// MAC spoof check (lib/nat/spoof-check.ts) against the kernel: two "containers" on a bridge inside a test
// namespace standing in for the host; a container that changes its MAC is cut off while the check is in
// place, and only the checked port is affected.
import { beforeAll, expect, it } from 'vitest';
import type { NftTarget } from '../../lib/nat/nftables.ts';
import { addMacSpoofCheck, delMacSpoofCheck, gcMacSpoofCheck, spoofCheckChains } from '../../lib/nat/spoof-check.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { cable, chainRules, nftIn, pings, ruleset, type WitnessChain } from './testing/nat.ts';

cleanupAfterAll();

const network = 'wtnet';

describeAsRoot('MAC spoof check in nftables (netdev ingress on the bridge port)', () => {
  let host: Netns;
  let one: Netns;
  let two: Netns;
  let nft: NftTarget;
  let mac: string;
  const key = { network, containerId: 'one', ifName: 'eth0' };
  const chain = spoofCheckChains.name(key);

  beforeAll(() => {
    host = createNetns('sh');
    one = createNetns('s1');
    two = createNetns('s2');
    nft = nftIn(host);
    host.ip('link', 'add', 'br0', 'type', 'bridge');
    host.ip('link', 'set', 'br0', 'up');
    cable(one, 'eth0', ['10.199.5.2/24'], host, 'hv1', []);
    cable(two, 'eth0', ['10.199.5.3/24'], host, 'hv2', []);
    host.ip('link', 'set', 'hv1', 'master', 'br0');
    host.ip('link', 'set', 'hv2', 'master', 'br0');
    mac = one.ipJson<{ address: string }[]>('link', 'show', 'eth0')[0]!.address;
  });

  function spoof(address: string): void {
    one.ip('link', 'set', 'eth0', 'address', address);
    for (const ns of [one, two]) ns.ip('neigh', 'flush', 'dev', 'eth0');
  }

  function spoofChains(): WitnessChain[] {
    return ruleset(host).chains.filter((c) => c.family === 'netdev' && c.table === 'weft');
  }

  it('ADD hooks one ingress chain on the port that drops frames from other MACs', () => {
    addMacSpoofCheck({ ...key, hostIfName: 'hv1', mac }, nft);
    expect(spoofChains()).toEqual([
      { family: 'netdev', table: 'weft', name: chain, handle: expect.any(Number), type: 'filter', hook: 'ingress', prio: -300, policy: 'accept' },
    ]);
    // nft's JSON leaves the device out; its text names it.
    expect(host.exec('nft', ['list', 'chain', 'netdev', 'weft', chain]).stdout).toContain('type filter hook ingress device "hv1" priority -300;');
    expect(chainRules(host, 'netdev', 'weft', chain)).toEqual([`ether saddr != ${mac} drop`]);
    expect(pings(one, '10.199.5.3')).toBe(true);
  });

  it('cuts off the container once it changes its MAC', () => {
    spoof('02:00:0a:c7:05:99');
    expect(pings(one, '10.199.5.3')).toBe(false);
  });

  it('DEL removes exactly that check; twice and for an unknown container it succeeds', () => {
    const otherKey = { network, containerId: 'two', ifName: 'eth0' };
    const twoMac = two.ipJson<{ address: string }[]>('link', 'show', 'eth0')[0]!.address;
    addMacSpoofCheck({ ...otherKey, hostIfName: 'hv2', mac: twoMac }, nft);
    delMacSpoofCheck(key, nft);
    delMacSpoofCheck(key, nft);
    delMacSpoofCheck({ ...key, containerId: 'never-added' }, nft);
    expect(spoofChains().map((c) => c.name)).toEqual([spoofCheckChains.name(otherKey)]);
    expect(pings(one, '10.199.5.3')).toBe(true);
  });

  it('GC removes checks of attachments that are no longer valid', () => {
    expect(gcMacSpoofCheck(network, [{ containerID: 'two', ifname: 'eth0' }], nft)).toEqual([]);
    expect(gcMacSpoofCheck(network, [], nft)).toEqual([spoofCheckChains.name({ network, containerId: 'two', ifName: 'eth0' })]);
    expect(spoofChains()).toEqual([]);
  });
});
