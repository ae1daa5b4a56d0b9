// Kernel change notifications through lib/netlink's KernelWatch: changes made with `ip` and `bridge` (the
// independent witnesses) in a namespace of the test's own arrive decoded, in order; a flood that overflows
// the socket's buffer is reported as lost; closing stops the callbacks.
import { afterEach, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { formatCidr } from '../../lib/ip/cidr.ts';
import { KernelWatch, Netlink, type ChangeKind, type KernelChange } from '../../lib/netlink/index.ts';
import { runChecked } from './testing/command.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { eventually } from './testing/overlay.ts';

cleanupAfterAll();

/** A change in words, for comparing with what the test did. */
function describe(change: KernelChange): string {
  const sign = change.removed ? '-' : '+';
  switch (change.kind) {
    case 'link':
      return `${sign}link ${change.link.name}`;
    case 'address':
      return `${sign}address ${formatCidr(change.address.address)}`;
    case 'route':
      return `${sign}route ${formatCidr(change.route.dst)} proto ${change.route.protocol}`;
    case 'neighbour':
      return `${sign}neighbour ${formatIp(change.neighbour.ip)} ${change.neighbour.mac ?? ''}`;
    case 'fdb':
      return `${sign}fdb ${change.entry.mac} ${change.entry.dst ? formatIp(change.entry.dst) : ''}`;
  }
}

describeAsRoot('netlink: kernel change notifications', () => {
  const watches: KernelWatch[] = [];
  afterEach(() => {
    for (const w of watches.splice(0)) w.close();
  });

  function watch(ns: Netns, kinds: readonly ChangeKind[]): { seen: string[]; lost: string[]; watch: KernelWatch } {
    const seen: string[] = [];
    const lost: string[] = [];
    const w = KernelWatch.open(ns.path, kinds, { onChanges: (changes) => seen.push(...changes.map(describe)), onLost: (reason) => lost.push(reason) });
    watches.push(w);
    return { seen, lost, watch: w };
  }

  it('reports links, addresses, routes, neighbours and FDB entries as they are made and removed', async () => {
    const ns = createNetns('mo');
    const { seen, lost } = watch(ns, ['link', 'address', 'route', 'neighbour', 'fdb']);
    ns.ip('link', 'add', 'wtlk0', 'type', 'bridge');
    ns.ip('link', 'set', 'wtlk0', 'up');
    ns.ip('addr', 'add', '198.51.100.1/24', 'dev', 'wtlk0');
    ns.ip('route', 'add', '203.0.113.0/24', 'via', '198.51.100.2', 'proto', '87');
    ns.ip('neigh', 'add', '198.51.100.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'wtlk0');
    ns.ip('link', 'add', 'wtvx0', 'type', 'vxlan', 'id', '7', 'dstport', '4789', 'local', '198.51.100.1', 'nolearning');
    runChecked('bridge', ['-n', ns.name, 'fdb', 'append', '02:00:00:00:00:0a', 'dev', 'wtvx0', 'dst', '198.51.100.10']);
    ns.ip('link', 'del', 'wtlk0');
    await eventually('the deletion seen', () => seen.includes('-link wtlk0'));
    // Only what the test made, in order (the kernel adds its own: local and prefix routes, link state
    // changes). IPv4 routes that go with their link are not announced: the link's removal says it.
    const expected = [
      '+link wtlk0', '+address 198.51.100.1/24', '+route 203.0.113.0/24 proto 87', '+neighbour 198.51.100.9 02:00:00:00:00:09',
      '+link wtvx0', '+fdb 02:00:00:00:00:0a 198.51.100.10', '-neighbour 198.51.100.9 02:00:00:00:00:09', '-address 198.51.100.1/24', '-link wtlk0',
    ];
    expect(seen.filter((s) => expected.includes(s)).filter((s, i, all) => all.indexOf(s) === i), JSON.stringify(seen)).toEqual(expected);
    expect(lost).toEqual([]);
  });

  it('keeps to the kinds asked for', async () => {
    const ns = createNetns('mo');
    const { seen } = watch(ns, ['route']);
    ns.ip('link', 'add', 'wtlk0', 'type', 'bridge');
    ns.ip('link', 'set', 'wtlk0', 'up');
    ns.ip('addr', 'add', '198.51.100.1/24', 'dev', 'wtlk0');
    await eventually('the prefix route', () => seen.some((s) => s.startsWith('+route 198.51.100.0/24')));
    expect(seen.every((s) => s.includes('route'))).toBe(true);
  });

  it('says changes were lost when they outrun the reader, and goes on reporting', async () => {
    const ns = createNetns('mo');
    ns.ip('link', 'add', 'wtlk0', 'type', 'bridge');
    ns.ip('link', 'set', 'wtlk0', 'up');
    const { seen, lost } = watch(ns, ['route']);
    // 30,000 routes in one synchronous batch: the event loop reads nothing meanwhile, and the socket's
    // 8 MiB buffer holds fewer notifications than that.
    const nl = Netlink.open(ns.path);
    try {
      const link = nl.linkByName('wtlk0').index;
      const batch = nl.batch();
      for (let i = 0; i < 30_000; i++) batch.routeAdd({ dst: { address: parseIp(`10.${(i >> 8) & 255}.${i & 255}.0`), prefix: 24 }, link });
      batch.commit();
    } finally {
      nl.close();
    }
    await eventually('the loss reported', () => lost.length > 0);
    expect(lost[0], JSON.stringify(lost)).toMatch(/dropped notifications/);
    ns.ip('route', 'add', '203.0.113.0/24', 'dev', 'wtlk0');
    await eventually('a change after the loss', () => seen.includes('+route 203.0.113.0/24 proto 3'));
  });

  it('calls back no more once closed', async () => {
    const ns = createNetns('mo');
    const { seen, watch: w } = watch(ns, ['link']);
    ns.ip('link', 'add', 'wtlk0', 'type', 'bridge');
    await eventually('the link', () => seen.includes('+link wtlk0'));
    w.close();
    w.close();
    const count = seen.length;
    ns.ip('link', 'add', 'wtlk1', 'type', 'bridge');
    // A change made after closing, then one turn through a watch still open to show it was announced.
    const { seen: other } = watch(ns, ['link']);
    ns.ip('link', 'add', 'wtlk2', 'type', 'bridge');
    await eventually('the other watch', () => other.includes('+link wtlk2'));
    expect(seen.length).toBe(count);
  });
});
