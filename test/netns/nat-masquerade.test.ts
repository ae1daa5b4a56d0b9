// Container masquerade (lib/nat/masquerade.ts) against the kernel: nft runs inside a test namespace standing
// in for the host, and `nft -j list ruleset` there is the witness; a container → host → outside chain of
// namespaces shows the kernel really rewrites the source.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCidr } from '../../lib/ip/cidr.ts';
import {
  addContainerMasquerade, delContainerMasquerade, gcContainerMasquerade, masqueradeChains,
} from '../../lib/nat/masquerade.ts';
import type { NftOptions } from '../../lib/nat/nft.ts';
import { createNetns, type Netns } from './harness/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './harness/suite.ts';
import {
  cable, chainRules, countArrivals, counted, enableForwarding, nftIn, nftScript, pings, ruleset, type WitnessChain,
} from './nat-fixtures.ts';

cleanupAfterAll();

const network = 'wtnet';
const key = (containerId: string, ifName = 'eth0') => ({ network, containerId, ifName });
const chainOf = (k: ReturnType<typeof key>) => masqueradeChains.name(k);

describeAsRoot('container masquerade in nftables', () => {
  let host: Netns;
  let nft: NftOptions;

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

  it('ADD makes one nat postrouting chain holding exactly the container’s IPv4 and IPv6 rules', async () => {
    await addContainerMasquerade({ ...key('c1'), addresses: [parseCidr('10.199.0.2/24'), parseCidr('fd00:199::2/64')] }, nft);
    expect(masqChains()).toEqual([
      { family: 'inet', table: 'weft', name: chainOf(key('c1')), handle: expect.any(Number), type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' },
    ]);
    expect(rulesOf(key('c1'))).toEqual([
      'ip saddr 10.199.0.2 ip daddr != 10.199.0.0/24 ip daddr != 224.0.0.0/4 masquerade',
      'ip6 saddr fd00:199::2 ip6 daddr != fd00:199::/64 ip6 daddr != ff00::/8 masquerade',
    ]);
  });

  it('ADD again for the same attachment replaces its rules instead of adding to them', async () => {
    await addContainerMasquerade({ ...key('c1'), addresses: [parseCidr('10.199.0.7/24')] }, nft);
    expect(rulesOf(key('c1'))).toEqual(['ip saddr 10.199.0.7 ip daddr != 10.199.0.0/24 ip daddr != 224.0.0.0/4 masquerade']);
    expect(masqChains()).toHaveLength(1);
  });

  it('DEL removes exactly its own entries, with one transaction and no listing, even for a shared address', async () => {
    // Same address for c1 and c2: the reference's edge case (a stale ADD, then a reused address).
    await addContainerMasquerade({ ...key('c2'), addresses: [parseCidr('10.199.0.7/24')] }, nft);
    await addContainerMasquerade({ ...key('c2', 'net1'), addresses: [parseCidr('10.199.0.8/24')] }, nft);
    const dir = mkdtempSync(join(tmpdir(), 'weft-nat-'));
    try {
      const log = join(dir, 'argv');
      const recording: NftOptions = {
        command: ['sh', '-c', `echo "$*" >> ${log}; exec ip netns exec ${host.name} nft "$@"`, 'nft'],
      };
      await delContainerMasquerade(key('c1'), recording);
      expect(readFileSync(log, 'utf8')).toBe('-f -\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(masqChains().map((c) => c.name).sort()).toEqual([chainOf(key('c2')), chainOf(key('c2', 'net1'))].sort());
    expect(rulesOf(key('c2'))).toEqual(['ip saddr 10.199.0.7 ip daddr != 10.199.0.0/24 ip daddr != 224.0.0.0/4 masquerade']);
  });

  it('DEL twice and DEL of a container never added succeed and change nothing', async () => {
    const before = ruleset(host);
    await delContainerMasquerade(key('c1'), nft);
    await delContainerMasquerade(key('never-added'), nft);
    expect(ruleset(host)).toEqual(before);
  });

  it('GC removes the network’s attachments that are not valid and leaves other networks alone', async () => {
    const other = { network: 'wtother', containerId: 'c9', ifName: 'eth0' };
    await addContainerMasquerade({ ...other, addresses: [parseCidr('10.199.9.9/24')] }, nft);
    const removed = await gcContainerMasquerade(network, [{ containerID: 'c2', ifname: 'eth0' }], nft);
    expect(removed).toEqual([chainOf(key('c2', 'net1'))]);
    expect(masqChains().map((c) => c.name).sort()).toEqual([chainOf(key('c2')), masqueradeChains.name(other)].sort());
    expect(await gcContainerMasquerade(network, [{ containerID: 'c2', ifname: 'eth0' }], nft)).toEqual([]);
  });

  it('concurrent ADDs (one plugin process each) all land', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `par${i}`);
    await Promise.all(ids.map((id, i) => addContainerMasquerade({ ...key(id), addresses: [parseCidr(`10.199.4.${i + 2}/24`)] }, nft)));
    const names = new Set(masqChains().map((c) => c.name));
    for (const id of ids) expect(names.has(chainOf(key(id)))).toBe(true);
    await Promise.all(ids.map((id) => delContainerMasquerade(key(id), nft)));
    expect(masqChains()).toHaveLength(2);
  });

  it('names the kernel’s cap of 1024 chains per hook when a host reaches it', async () => {
    const present = ruleset(host).chains.filter((c) => c.hook === 'postrouting' && c.type === 'nat').length;
    const fill = Array.from({ length: 1024 - present }, (_, i) => `add chain inet wtfill c${i} { type nat hook postrouting priority srcnat; }`);
    nftScript(host, ['add table inet wtfill', ...fill].join('\n') + '\n');
    try {
      const err = await addContainerMasquerade({ ...key('c4'), addresses: [parseCidr('10.199.0.4/24')] }, nft).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 103,
        msg: 'too many masquerade chains: the kernel allows at most 1024 chains on one hook',
        details: expect.stringMatching(/Argument list too long/),
      });
    } finally {
      nftScript(host, 'delete table inet wtfill\n');
    }
  });

  it('fails with code 103 and nft’s message when the kernel refuses the transaction', async () => {
    // A plain chain squatting on the attachment's name: declaring it as a base chain is refused.
    const squatter = chainOf(key('c3'));
    nftScript(host, `add chain inet weft ${squatter}\n`);
    const err = await addContainerMasquerade({ ...key('c3'), addresses: [parseCidr('10.199.0.3/24')] }, nft).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 103, msg: 'nftables transaction failed (exit 1)', details: expect.stringMatching(/File exists/) });
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

  afterAll(async () => {
    if (host) await delContainerMasquerade(attachment, nftIn(host));
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

  it('after ADD the outside sees the host’s address and answers, over IPv4 and IPv6', async () => {
    await addContainerMasquerade({ ...attachment, addresses: [parseCidr('10.199.1.2/24'), parseCidr('fd00:199:1::2/64')] }, nftIn(host));
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

  it('after DEL new connections leave unmasqueraded again', async () => {
    await delContainerMasquerade(attachment, nftIn(host));
    const before = arrivals();
    expect(pings(container, '203.0.113.2')).toBe(false);
    const after = arrivals();
    expect(after.container4).toBeGreaterThan(before.container4!);
    expect(after.host4).toBe(before.host4);
  });
});
