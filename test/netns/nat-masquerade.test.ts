// Container masquerade (lib/nat/masquerade.ts) against the kernel: nft runs inside a test namespace standing
// in for the host, and `nft -j list ruleset` there is the witness; a container → host → outside chain of
// namespaces shows the kernel really rewrites the source.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCidr } from '../../lib/ip/cidr.ts';
import {
  addContainerMasquerade, delContainerMasquerade, gcContainerMasquerade, masqueradeChains,
} from '../../lib/nat/masquerade.ts';
import type { NftTarget } from '../../lib/nat/nftables.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import {
  cable, chainRules, countArrivals, counted, enableForwarding, nftIn, nftScript, pings, ruleset, type WitnessChain,
} from './testing/nat.ts';

cleanupAfterAll();

const network = 'wtnet';
const key = (containerId: string, ifName = 'eth0') => ({ network, containerId, ifName });
const chainOf = (k: ReturnType<typeof key>) => masqueradeChains.name(k);

describeAsRoot('container masquerade in nftables', () => {
  let host: Netns;
  let nft: NftTarget;

  beforeAll(() => {
    host = createNetns('nm');
    nft = nftIn(host);
  });

  function masqChains(): WitnessChain[] {
    return ruleset(host).chains.filter((c) => c.family === 'inet' && c.table === 'weft' && c.name.startsWith('masq-'));
  }

  function rulesOf(k: ReturnType<typeof key>): string[] {
    return chainRules(host, 'inet', 'weft', chainOf(k));
  }

  it('ADD makes one nat postrouting chain holding exactly the container’s IPv4 and IPv6 rules', () => {
    addContainerMasquerade({ ...key('c1'), addresses: [parseCidr('10.199.0.2/24'), parseCidr('fd00:199::2/64')] }, nft);
    expect(masqChains()).toEqual([
      { family: 'inet', table: 'weft', name: chainOf(key('c1')), handle: expect.any(Number), type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' },
    ]);
    expect(rulesOf(key('c1'))).toEqual([
      'ip saddr 10.199.0.2 ip daddr != 10.199.0.0/24 ip daddr != 224.0.0.0/4 masquerade',
      'ip6 saddr fd00:199::2 ip6 daddr != fd00:199::/64 ip6 daddr != ff00::/8 masquerade',
    ]);
  });

  it('ADD again for the same attachment replaces its rules instead of adding to them', () => {
    addContainerMasquerade({ ...key('c1'), addresses: [parseCidr('10.199.0.7/24')] }, nft);
    expect(rulesOf(key('c1'))).toEqual(['ip saddr 10.199.0.7 ip daddr != 10.199.0.0/24 ip daddr != 224.0.0.0/4 masquerade']);
    expect(masqChains()).toHaveLength(1);
  });

  it('DEL removes exactly its own entries, even for a shared address', () => {
    // Same address for c1 and c2: the reference's edge case (a stale ADD, then a reused address).
    addContainerMasquerade({ ...key('c2'), addresses: [parseCidr('10.199.0.7/24')] }, nft);
    addContainerMasquerade({ ...key('c2', 'net1'), addresses: [parseCidr('10.199.0.8/24')] }, nft);
    delContainerMasquerade(key('c1'), nft);
    expect(masqChains().map((c) => c.name).sort()).toEqual([chainOf(key('c2')), chainOf(key('c2', 'net1'))].sort());
    expect(rulesOf(key('c2'))).toEqual(['ip saddr 10.199.0.7 ip daddr != 10.199.0.0/24 ip daddr != 224.0.0.0/4 masquerade']);
  });

  it('DEL twice and DEL of a container never added succeed and change nothing', () => {
    const before = ruleset(host);
    delContainerMasquerade(key('c1'), nft);
    delContainerMasquerade(key('never-added'), nft);
    expect(ruleset(host)).toEqual(before);
  });

  it('GC removes the network’s attachments that are not valid and leaves other networks alone', () => {
    const other = { network: 'wtother', containerId: 'c9', ifName: 'eth0' };
    addContainerMasquerade({ ...other, addresses: [parseCidr('10.199.9.9/24')] }, nft);
    const removed = gcContainerMasquerade(network, [{ containerID: 'c2', ifname: 'eth0' }], nft);
    expect(removed).toEqual([chainOf(key('c2', 'net1'))]);
    expect(masqChains().map((c) => c.name).sort()).toEqual([chainOf(key('c2')), masqueradeChains.name(other)].sort());
    expect(gcContainerMasquerade(network, [{ containerID: 'c2', ifname: 'eth0' }], nft)).toEqual([]);
  });

  it('names the kernel’s cap of 1024 chains per hook when a host reaches it', () => {
    const present = ruleset(host).chains.filter((c) => c.hook === 'postrouting' && c.type === 'nat').length;
    const fill = Array.from({ length: 1024 - present }, (_, i) => `add chain inet wtfill c${i} { type nat hook postrouting priority srcnat; }`);
    nftScript(host, ['add table inet wtfill', ...fill].join('\n') + '\n');
    try {
      expect(() => addContainerMasquerade({ ...key('c4'), addresses: [parseCidr('10.199.0.4/24')] }, nft)).toThrow(expect.objectContaining({
        code: 103,
        msg: 'too many masquerade chains: the kernel allows at most 1024 chains on one hook',
        details: expect.stringMatching(/\(E2BIG\)/),
      }));
    } finally {
      nftScript(host, 'delete table inet wtfill\n');
    }
  });

  it('fails with code 103 and the kernel’s answer when it refuses the transaction, and changes nothing', () => {
    // A plain chain squatting on the attachment's name: declaring it as a base chain is refused.
    const squatter = chainOf(key('c3'));
    nftScript(host, `add chain inet weft ${squatter}\n`);
    const before = ruleset(host);
    expect(() => addContainerMasquerade({ ...key('c3'), addresses: [parseCidr('10.199.0.3/24')] }, nft)).toThrow(expect.objectContaining({
      code: 103,
      msg: 'nftables transaction failed',
      details: expect.stringMatching(new RegExp(`^add chain inet weft ${squatter} \\(nat hook postrouting\\).*\\(EEXIST\\)`)),
    }));
    expect(ruleset(host)).toEqual(before);
    expect(rulesOf(key('c3'))).toEqual([]);
    nftScript(host, `delete chain inet weft ${squatter}\n`);
  });
});

describeAsRoot('container masquerade on the wire: container → host → outside', () => {
  let container: Netns;
  let host: Netns;
  let outside: Netns;
  const attachment = { network, containerId: 'wire', ifName: 'eth0' };

  beforeAll(() => {
    container = createNetns('nc');
    host = createNetns('nh');
    outside = createNetns('no');
    cable(container, 'eth0', ['10.199.1.2/24', 'fd00:199:1::2/64'], host, 'vc0', ['10.199.1.1/24', 'fd00:199:1::1/64']);
    cable(host, 'vo0', ['203.0.113.1/24', 'fd00:199:2::1/64'], outside, 'eth0', ['203.0.113.2/24', 'fd00:199:2::2/64']);
    container.ip('route', 'add', 'default', 'via', '10.199.1.1');
    container.ip('-6', 'route', 'add', 'default', 'via', 'fd00:199:1::1');
    enableForwarding(host);
    // The outside has no route back to the container's subnet: only a masqueraded ping can be answered.
    countArrivals(outside, {
      host4: '203.0.113.1', container4: '10.199.1.2', host6: 'fd00:199:2::1', container6: 'fd00:199:1::2',
    });
  });

  afterAll(() => {
    if (host) delContainerMasquerade(attachment, nftIn(host));
  });

  // Arrivals counted at the outside, by the source address they carried.
  function arrivals(): Record<string, number> {
    return Object.fromEntries(['host4', 'container4', 'host6', 'container6'].map((name) => [name, counted(outside, name)]));
  }

  it('is not answered before ADD: the outside sees the container’s own address', () => {
    expect(pings(container, '203.0.113.2')).toBe(false);
    expect(pings(container, 'fd00:199:2::2')).toBe(false);
    expect(arrivals()).toMatchObject({ host4: 0, host6: 0 });
    expect(arrivals().container4).toBeGreaterThan(0);
    expect(arrivals().container6).toBeGreaterThan(0);
  });

  it('after ADD the outside sees the host’s address and answers, over IPv4 and IPv6', () => {
    addContainerMasquerade({ ...attachment, addresses: [parseCidr('10.199.1.2/24'), parseCidr('fd00:199:1::2/64')] }, nftIn(host));
    const before = arrivals();
    expect(pings(container, '203.0.113.2')).toBe(true);
    expect(pings(container, 'fd00:199:2::2')).toBe(true);
    const after = arrivals();
    expect(after.host4).toBeGreaterThan(0);
    expect(after.host6).toBeGreaterThan(0);
    expect([after.container4, after.container6]).toEqual([before.container4, before.container6]);
    // Inside its own subnet the container keeps its address.
    expect(pings(container, '10.199.1.1')).toBe(true);
  });

  it('after DEL new connections leave unmasqueraded again', () => {
    delContainerMasquerade(attachment, nftIn(host));
    const before = arrivals();
    expect(pings(container, '203.0.113.2')).toBe(false);
    const after = arrivals();
    expect(after.container4).toBeGreaterThan(before.container4!);
    expect(after.host4).toBe(before.host4);
  });
});
