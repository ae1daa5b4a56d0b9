// weftd's `underlay.reach` against the kernel: the interface is the one the kernel itself routes the
// address by — policy rules and other tables included, as `ip route get` (the witness) shows — not the
// main table's guess. The host is a test namespace with two links; a policy rule sends one prefix by the
// link the main table's default route does not use.
import { beforeAll, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { withNetlink } from '../../lib/netlink/index.ts';
import { chooseUnderlay, readUnderlayFacts, type UnderlayChoice } from '../../daemon/underlay.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';

cleanupAfterAll();

describeAsRoot('underlay: the interface that reaches an address', () => {
  let host: Netns;

  beforeAll(() => {
    host = createNetns('ul');
    // Two links (veth ends inside the host; their peers only need to exist) and a default route by the first.
    for (const [name, peer, cidr] of [['ul0', 'ulp0', '10.70.0.2/24'], ['ul1', 'ulp1', '10.71.0.2/24']] as const) {
      host.ip('link', 'add', name, 'type', 'veth', 'peer', 'name', peer);
      host.ip('addr', 'add', cidr, 'dev', name);
      for (const dev of [name, peer]) host.ip('link', 'set', dev, 'up');
    }
    host.ip('route', 'add', 'default', 'via', '10.70.0.1', 'dev', 'ul0');
    // Policy routing, as on a multi-homed cloud host: this prefix leaves by ul1, from table 100.
    host.ip('route', 'add', '198.51.100.0/24', 'via', '10.71.0.1', 'dev', 'ul1', 'table', '100');
    host.ip('rule', 'add', 'to', '198.51.100.0/24', 'lookup', '100');
    host.ip('route', 'add', 'unreachable', '203.0.113.0/24');
  });

  const pick = (address: string) => {
    const choice: UnderlayChoice = { by: 'reach', address: parseIp(address) };
    const underlay = chooseUnderlay(choice, readUnderlayFacts(choice, host.path));
    return `${underlay.name} ${formatIp(underlay.address)}`;
  };

  it('looks a route up as the kernel does: the same answer as `ip route get`', () => {
    for (const dst of ['198.51.100.7', '192.0.2.1', '10.71.0.9']) {
      const [witness] = host.ipJson<Array<{ dev: string; prefsrc: string }>>('route', 'get', dst);
      const route = withNetlink(host.path, (nl) => nl.routeGet(parseIp(dst)));
      const dev = withNetlink(host.path, (nl) => nl.linkByIndex(route.link!).name);
      expect(`${dev} ${formatIp(route.src!)}`).toBe(`${witness!.dev} ${witness!.prefsrc}`);
    }
  });

  it('chooses the interface and source of the policy route, not of the main table’s default', () => {
    expect(pick('198.51.100.7')).toBe('ul1 10.71.0.2');
    expect(pick('192.0.2.1')).toBe('ul0 10.70.0.2');
  });

  it('refuses an address the kernel will not route', () => {
    expect(() => pick('203.0.113.5')).toThrow(/no route reaches 203\.0\.113\.5/);
  });
});
