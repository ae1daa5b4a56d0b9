// The overlay daemon's rules (lib/nat/overlay.ts) against the kernel, in a test namespace standing in for a
// node whose firewall drops forwarded packets by default: overlay traffic passes with its own addresses,
// traffic to the outside is masqueraded (only when asked), and clearing leaves the host's firewall as it was.
import { beforeAll, expect, it } from 'vitest';
import { parseCidr } from '../../lib/ip/cidr.ts';
import type { NftTarget } from '../../lib/nat/nftables.ts';
import { clearOverlayRules, setOverlayRules } from '../../lib/nat/overlay.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import {
  cable, chainRules, countArrivals, counted, enableForwarding, nftIn, nftScript, pings, ruleset, type WitnessRule,
} from './testing/nat.ts';

cleanupAfterAll();

const networks = [parseCidr('10.199.0.0/16'), parseCidr('fd00:199::/32')];

/** The accept rules weft appends to each drop-policy forward chain of the host (after the admin's own). */
const overlayAcceptComments = [
  'ip filter FORWARD: weft overlay: accept from 10.199.0.0/16',
  'ip filter FORWARD: weft overlay: accept to 10.199.0.0/16',
  'ip6 filter FORWARD: weft overlay: accept from fd00:199::/32',
  'ip6 filter FORWARD: weft overlay: accept to fd00:199::/32',
  'inet host forward: admin',
  'inet host forward: weft overlay: accept from 10.199.0.0/16',
  'inet host forward: weft overlay: accept to 10.199.0.0/16',
  'inet host forward: weft overlay: accept from fd00:199::/32',
  'inet host forward: weft overlay: accept to fd00:199::/32',
];

describeAsRoot('overlay masquerade and forward acceptance in nftables', () => {
  let node: Netns;
  let container: Netns;
  let peer: Netns;
  let outside: Netns;
  let nft: NftTarget;

  beforeAll(() => {
    node = createNetns('on');
    container = createNetns('oc');
    peer = createNetns('op');
    outside = createNetns('oo');
    nft = nftIn(node);
    // This node's container, another node's container (reached without encapsulation: the rules see the
    // same forwarded packets), and an address outside the overlay with no route back into it.
    cable(container, 'eth0', ['10.199.8.2/24', 'fd00:199:8::2/64'], node, 'vc0', ['10.199.8.1/24', 'fd00:199:8::1/64']);
    cable(peer, 'eth0', ['10.199.9.2/24', 'fd00:199:9::2/64'], node, 'vp0', ['10.199.9.1/24', 'fd00:199:9::1/64']);
    cable(node, 'vo0', ['203.0.113.1/24', 'fd00:203::1/64'], outside, 'eth0', ['203.0.113.2/24', 'fd00:203::2/64']);
    container.ip('route', 'add', 'default', 'via', '10.199.8.1');
    container.ip('-6', 'route', 'add', 'default', 'via', 'fd00:199:8::1');
    peer.ip('route', 'add', '10.199.0.0/16', 'via', '10.199.9.1');
    peer.ip('-6', 'route', 'add', 'fd00:199::/32', 'via', 'fd00:199:9::1');
    enableForwarding(node);
    // The host's firewall: iptables-nft's FORWARD chains (as Docker leaves them) and a native table with an
    // administrator's rule, all dropping by default, and one accepting chain that must stay untouched.
    nftScript(node, [
      'add table ip filter',
      'add chain ip filter FORWARD { type filter hook forward priority filter; policy drop; }',
      'add table ip6 filter',
      'add chain ip6 filter FORWARD { type filter hook forward priority filter; policy drop; }',
      'add table inet host',
      'add chain inet host forward { type filter hook forward priority filter + 10; policy drop; }',
      'add rule inet host forward tcp dport 9 drop comment "admin"',
      'add chain inet host audit { type filter hook forward priority filter + 20; policy accept; }',
    ].join('\n') + '\n');
    countArrivals(peer, { container4: '10.199.8.2', container6: 'fd00:199:8::2' });
    countArrivals(outside, { node4: '203.0.113.1', node6: 'fd00:203::1', container4: '10.199.8.2' });
  });

  function hostRules(): WitnessRule[] {
    return ruleset(node).rules.filter((r) => r.table !== 'weft');
  }

  function hostRuleComments(): string[] {
    return hostRules().map((r) => `${r.family} ${r.table} ${r.chain}: ${r.comment ?? ''}`);
  }

  it('without the rules the host’s forward policy drops overlay traffic', () => {
    expect(pings(container, '10.199.9.2')).toBe(false);
    expect(pings(container, 'fd00:199:9::2')).toBe(false);
  });

  it('sets a masquerade chain and appends accepts to every forward chain that drops by default', () => {
    setOverlayRules({ networks, masquerade: true }, nft);
    expect(chainRules(node, 'inet', 'weft', 'overlay-postrouting')).toEqual([
      'ip saddr 10.199.0.0/16 ip daddr 10.199.0.0/16 return',
      'ip saddr 10.199.0.0/16 ip daddr 224.0.0.0/4 return',
      'ip saddr 10.199.0.0/16 masquerade fully-random',
      'ip6 saddr fd00:199::/32 ip6 daddr fd00:199::/32 return',
      'ip6 saddr fd00:199::/32 ip6 daddr ff00::/8 return',
      'ip6 saddr fd00:199::/32 masquerade fully-random',
    ]);
    expect(hostRuleComments()).toEqual(overlayAcceptComments);
    expect(chainRules(node, 'ip', 'filter', 'FORWARD')).toEqual([
      'ip saddr 10.199.0.0/16 accept comment "weft overlay: accept from 10.199.0.0/16"',
      'ip daddr 10.199.0.0/16 accept comment "weft overlay: accept to 10.199.0.0/16"',
    ]);
  });

  it('forwards overlay traffic with the containers’ own addresses', () => {
    expect(pings(container, '10.199.9.2')).toBe(true);
    expect(pings(container, 'fd00:199:9::2')).toBe(true);
    // Arrived with the container's address: no masquerade inside the overlay.
    expect(counted(peer, 'container4')).toBeGreaterThan(0);
    expect(counted(peer, 'container6')).toBeGreaterThan(0);
  });

  it('masquerades traffic leaving the overlay', () => {
    expect(pings(container, '203.0.113.2')).toBe(true);
    expect(pings(container, 'fd00:203::2')).toBe(true);
    expect(counted(outside, 'node4')).toBeGreaterThan(0);
    expect(counted(outside, 'node6')).toBeGreaterThan(0);
    expect(counted(outside, 'container4')).toBe(0);
  });

  it('setting the same rules again changes nothing in the host’s chains', () => {
    const before = hostRules();
    setOverlayRules({ networks, masquerade: true }, nft);
    expect(hostRules()).toEqual(before);
  });

  it('repairs what the host’s firewall lost, and follows a changed network', () => {
    // A firewall reload recreates the FORWARD chain without weft's rules.
    nftScript(node, 'delete chain ip filter FORWARD\nadd chain ip filter FORWARD { type filter hook forward priority filter; policy drop; }\n');
    setOverlayRules({ networks: [parseCidr('10.199.0.0/16')], masquerade: true }, nft);
    expect(hostRuleComments()).toEqual([
      'ip filter FORWARD: weft overlay: accept from 10.199.0.0/16',
      'ip filter FORWARD: weft overlay: accept to 10.199.0.0/16',
      'inet host forward: admin',
      'inet host forward: weft overlay: accept from 10.199.0.0/16',
      'inet host forward: weft overlay: accept to 10.199.0.0/16',
    ]);
    expect(chainRules(node, 'inet', 'weft', 'overlay-postrouting')).toHaveLength(3);
  });

  it('clearing removes every rule weft added and nothing else', () => {
    clearOverlayRules(nft);
    clearOverlayRules(nft);
    expect(hostRuleComments()).toEqual(['inet host forward: admin']);
    expect(ruleset(node).chains.filter((c) => c.table === 'weft')).toEqual([]);
    expect(pings(container, '10.199.9.2')).toBe(false);
  });

  it('without masquerade still accepts overlay forwarding and masquerades nothing', () => {
    setOverlayRules({ networks, masquerade: true }, nft);
    setOverlayRules({ networks, masquerade: false }, nft);
    const witness = ruleset(node);
    expect(witness.chains.filter((c) => c.table === 'weft')).toEqual([]);
    expect(witness.rules.filter((r) => JSON.stringify(r.expr).includes('"masquerade"'))).toEqual([]);
    expect(hostRuleComments()).toEqual(overlayAcceptComments);
    const before = counted(peer, 'container4');
    expect(pings(container, '10.199.9.2')).toBe(true);
    expect(pings(container, 'fd00:199:9::2')).toBe(true);
    expect(counted(peer, 'container4')).toBeGreaterThan(before);
    // Forwarded unmasqueraded: the outside has no route back into the overlay, so no answer comes, and what
    // arrives there carries the container's own address.
    const fromNode = counted(outside, 'node4');
    expect(pings(container, '203.0.113.2')).toBe(false);
    expect(counted(outside, 'node4')).toBe(fromNode);
    expect(counted(outside, 'container4')).toBeGreaterThan(0);
    clearOverlayRules(nft);
    expect(hostRuleComments()).toEqual(['inet host forward: admin']);
  });
});
