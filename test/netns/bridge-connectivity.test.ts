// The bridge plugin end to end, against the kernel: containers on one bridge reach each other, the gateway
// and (through masquerade) an outside network; IPv6 with and without DAD; DEL, DEL again and DEL after the
// namespace is gone; CHECK. The host is a namespace of its own; `ip -j` and `nft -j` are the witnesses.
import { beforeAll, expect, it } from 'vitest';
import { describeAsRoot, cleanupAfterAll } from './testing/suite.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cable, countArrivals, counted, pings } from './testing/nat.ts';
import {
  BridgeHost, addressInfo, addresses, bridgeName, createContainer, errorOf, link, ports, routes, sysctl, weftChains,
  type AddResult,
} from './testing/bridge.ts';

cleanupAfterAll();

function eventually(test: () => boolean, attempts = 5): boolean {
  for (let i = 0; i < attempts; i++) if (test()) return true;
  return false;
}

const dualStack = {
  isDefaultGateway: true,
  ipMasq: true,
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.99.0.0/24' }], [{ subnet: 'fd99::/64' }]] },
};

describeAsRoot('bridge: two containers on one bridge', () => {
  let host: BridgeHost;
  let one: Netns;
  let two: Netns;
  let first: AddResult;
  let second: AddResult;

  beforeAll(() => {
    host = new BridgeHost();
    one = createContainer();
    two = createContainer();
    first = host.add({ containerId: 'one', netns: one }, host.config(dualStack));
    second = host.add({ containerId: 'two', netns: two }, host.config(dualStack));
  });

  it('reports the bridge, the host veth and the container interface, addresses on the container interface, and default routes', () => {
    expect(first).toEqual({
      cniVersion: '1.1.0',
      interfaces: [
        { name: bridgeName, mac: link(host.netns, bridgeName).address },
        { name: expect.stringMatching(/^veth[0-9a-f]{8}$/), mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/) },
        { name: 'eth0', mac: link(one, 'eth0').address, sandbox: one.path },
      ],
      ips: [
        { interface: 2, address: '10.99.0.2/24', gateway: '10.99.0.1' },
        { interface: 2, address: 'fd99::2/64', gateway: 'fd99::1' },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.99.0.1' },
        { dst: '::/0', gw: 'fd99::1' },
      ],
    });
    expect(second.ips!.map((ip) => ip.address)).toEqual(['10.99.0.3/24', 'fd99::3/64']);
    expect(first.interfaces[1]!.mac).toBe(link(host.netns, first.interfaces[1]!.name).address);
  });

  it('puts the addresses and routes in the containers, the gateways on the bridge, both veths on it', () => {
    expect(addresses(one, 'eth0')).toEqual(['10.99.0.2/24', 'fd99::2/64']);
    expect(addresses(two, 'eth0')).toEqual(['10.99.0.3/24', 'fd99::3/64']);
    expect(routes(one, '-4')).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.99.0.1', dev: 'eth0' }));
    expect(routes(one, '-6')).toContainEqual(expect.objectContaining({ dst: 'default', gateway: 'fd99::1', dev: 'eth0' }));
    expect(addresses(host.netns, bridgeName)).toEqual(['10.99.0.1/24', 'fd99::1/64']);
    expect(ports(host.netns)).toEqual([first.interfaces[1]!.name, second.interfaces[1]!.name].sort());
    // The veth is one pair: the container end's peer is the host end.
    expect(link(one, 'eth0').linkinfo?.info_kind).toBe('veth');
    expect(link(host.netns, first.interfaces[1]!.name).operstate).toBe('UP');
  });

  it('lets them ping each other and the gateway over IPv4 and IPv6', () => {
    for (const [from, to] of [[one, '10.99.0.3'], [one, 'fd99::3'], [two, '10.99.0.2'], [two, 'fd99::2'], [one, '10.99.0.1'], [two, 'fd99::1']] as const) {
      expect(pings(from, to), `${from.name} → ${to}`).toBe(true);
    }
  });

  it('sets what the reference sets: IP forwarding, no router advertisements, ARP notify, kept IPv6 addresses, no DAD', () => {
    expect(sysctl(host.netns, 'net.ipv4.ip_forward')).toBe('1');
    expect(sysctl(host.netns, 'net.ipv6.conf.all.forwarding')).toBe('1');
    expect(sysctl(host.netns, `net.ipv6.conf.${bridgeName}.accept_ra`)).toBe('0');
    expect(sysctl(host.netns, `net.ipv6.conf.${first.interfaces[1]!.name}.accept_ra`)).toBe('0');
    expect(sysctl(one, 'net.ipv4.conf.eth0.arp_notify')).toBe('1');
    expect(sysctl(one, 'net.ipv6.conf.eth0.keep_addr_on_down')).toBe('1');
    expect(sysctl(one, 'net.ipv6.conf.eth0.accept_dad')).toBe('0');
    const v6 = addressInfo(one, 'eth0').find((a) => a.local === 'fd99::2')!;
    expect(v6.nodad).toBe(true);
    expect(v6.tentative).toBeUndefined();
    // The gateway too is usable at once.
    expect(addressInfo(host.netns, bridgeName).find((a) => a.local === 'fd99::1')).toMatchObject({ nodad: true });
  });

  it('keeps the bridge MAC pinned as ports join (addr_assign_type 3: set by user space)', () => {
    const mac = link(host.netns, bridgeName).address;
    const three = createContainer();
    host.add({ containerId: 'three', netns: three }, host.config(dualStack));
    expect(link(host.netns, bridgeName).address).toBe(mac);
    expect(host.netns.exec('cat', [`/sys/class/net/${bridgeName}/addr_assign_type`]).stdout.trim()).toBe('3');
    host.ok('DEL', { containerId: 'three', netns: three }, host.config(dualStack));
  });

  it('passes CHECK, and fails CHECK once an address is removed from the container', () => {
    const config = { ...host.config(dualStack), prevResult: first };
    host.ok('CHECK', { containerId: 'one', netns: one }, config);
    one.ip('addr', 'del', 'fd99::2/64', 'dev', 'eth0');
    const error = errorOf(host.run('CHECK', { containerId: 'one', netns: one }, config));
    expect(error).toMatchObject({ code: 100, msg: 'address fd99::2/64 is missing from eth0' });
    one.ip('addr', 'add', 'fd99::2/64', 'dev', 'eth0', 'nodad');
    host.ok('CHECK', { containerId: 'one', netns: one }, config);
  });

  it('fails CHECK when the default route or the bridge membership is gone, and without prevResult', () => {
    const config = { ...host.config(dualStack), prevResult: second };
    two.ip('route', 'del', 'default');
    expect(errorOf(host.run('CHECK', { containerId: 'two', netns: two }, config)).msg).toBe('route 0.0.0.0/0 via 10.99.0.1 is missing from the container');
    two.ip('route', 'add', 'default', 'via', '10.99.0.1');
    const veth = second.interfaces[1]!.name;
    host.netns.ip('link', 'set', veth, 'nomaster');
    expect(errorOf(host.run('CHECK', { containerId: 'two', netns: two }, config)).msg).toBe(`veth ${veth} is not a port of bridge ${bridgeName}`);
    host.netns.ip('link', 'set', veth, 'master', bridgeName);
    host.ok('CHECK', { containerId: 'two', netns: two }, config);
    expect(errorOf(host.run('CHECK', { containerId: 'two', netns: two }, host.config(dualStack)))).toMatchObject({ code: 7, msg: 'required prevResult missing' });
  });
});

describeAsRoot('bridge: masquerade to the outside', () => {
  let host: BridgeHost;
  let outside: Netns;
  let container: Netns;

  beforeAll(() => {
    host = new BridgeHost();
    outside = createNetns('o');
    // The outside knows the host's address only: replies reach the container solely through masquerade.
    cable(host.netns, 'up0', ['192.0.2.1/24', '2001:db8:ff::1/64'], outside, 'wan0', ['192.0.2.2/24', '2001:db8:ff::2/64']);
    // A fresh veth can take a moment before neighbour discovery answers: the cable must work first.
    for (const address of ['192.0.2.2', '2001:db8:ff::2']) expect(eventually(() => pings(host.netns, address)), address).toBe(true);
    countArrivals(outside, { fromhost4: '192.0.2.1', fromhost6: '2001:db8:ff::1', fromcont4: '10.99.0.2', fromcont6: 'fd99::2' });
    container = createContainer();
    host.add({ containerId: 'masq', netns: container }, host.config(dualStack));
  });

  it('makes one chain for the container holding its IPv4 and IPv6 rule', () => {
    expect(weftChains(host.netns)).toEqual([{ family: 'inet', name: expect.stringMatching(/^masq-/), rules: 2 }]);
  });

  it('lets the container reach an outside address, which sees the host’s address as the source', () => {
    expect(pings(container, '192.0.2.2')).toBe(true);
    expect(pings(container, '2001:db8:ff::2')).toBe(true);
    expect(counted(outside, 'fromhost4')).toBeGreaterThan(0);
    expect(counted(outside, 'fromhost6')).toBeGreaterThan(0);
    expect(counted(outside, 'fromcont4')).toBe(0);
    expect(counted(outside, 'fromcont6')).toBe(0);
  });

  it('removes the container’s chain and its allocation on DEL', () => {
    host.ok('DEL', { containerId: 'masq', netns: container }, host.config(dualStack));
    expect(weftChains(host.netns)).toEqual([]);
    expect(host.allocations()).toEqual([]);
  });
});

describeAsRoot('bridge: DEL', () => {
  let host: BridgeHost;

  beforeAll(() => {
    host = new BridgeHost();
  });

  function attach(id: string): { container: Netns; result: AddResult } {
    const container = createContainer();
    return { container, result: host.add({ containerId: id, netns: container }, host.config(dualStack)) };
  }

  it('removes the veth pair, the addresses, the rules and the allocation, and keeps the bridge', () => {
    const { container, result } = attach('del1');
    expect(host.allocations()).toEqual(['10.99.0.2', 'fd99::2']);
    host.ok('DEL', { containerId: 'del1', netns: container }, host.config(dualStack));
    expect(container.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    expect(host.netns.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).not.toContain(result.interfaces[1]!.name);
    expect(ports(host.netns)).toEqual([]);
    expect(link(host.netns, bridgeName).linkinfo?.info_kind).toBe('bridge');
    expect(weftChains(host.netns)).toEqual([]);
    expect(host.allocations()).toEqual([]);
  });

  it('succeeds twice in a row', () => {
    const { container } = attach('del2');
    host.ok('DEL', { containerId: 'del2', netns: container }, host.config(dualStack));
    host.ok('DEL', { containerId: 'del2', netns: container }, host.config(dualStack));
    expect(weftChains(host.netns)).toEqual([]);
  });

  it('succeeds after the namespace is deleted, and still removes the rules and the allocation', () => {
    const { container } = attach('del3');
    expect(weftChains(host.netns)).toHaveLength(1);
    container.remove();
    host.ok('DEL', { containerId: 'del3', netns: container.path }, host.config(dualStack));
    expect(weftChains(host.netns)).toEqual([]);
    expect(host.allocations()).toEqual([]);
    expect(ports(host.netns)).toEqual([]);
  });

  it('removes the masquerade and the MAC spoof check together (one nftables transaction), also after the namespace is gone', () => {
    const config = host.config({ ...dualStack, macspoofchk: true });
    const container = createContainer();
    host.add({ containerId: 'del5', netns: container }, config);
    expect(weftChains(host.netns).map((c) => c.family).sort()).toEqual(['inet', 'netdev']);
    container.remove();
    host.ok('DEL', { containerId: 'del5', netns: container.path }, config);
    expect(weftChains(host.netns)).toEqual([]);
    expect(host.allocations()).toEqual([]);
  });

  it('succeeds without CNI_NETNS or prevResult (containerd after a refused result), removing the veth pair, the rules and the allocation', () => {
    const { container } = attach('del4');
    host.ok('DEL', { containerId: 'del4', netns: container }, host.config(dualStack), { noNetns: true });
    expect(container.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    expect(ports(host.netns)).toEqual([]);
    expect(weftChains(host.netns)).toEqual([]);
    expect(host.allocations()).toEqual([]);
  });

  it('without CNI_NETNS, takes a veth the prevResult names only if it is the attachment\'s own', () => {
    const mine = attach('del6');
    const other = attach('del7');
    // A stale prevResult: its host end's name now belongs to another container.
    const interfaces = mine.result.interfaces.map((i, n) => (n === 1 ? other.result.interfaces[1]! : i));
    const prevResult = { ...mine.result, interfaces };
    host.ok('DEL', { containerId: 'del6', netns: mine.container }, { ...host.config(dualStack), prevResult }, { noNetns: true });
    expect(ports(host.netns)).toEqual([other.result.interfaces[1]!.name]);
    expect(mine.container.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    host.ok('DEL', { containerId: 'del7', netns: other.container }, host.config(dualStack));
  });

  it('succeeds for an attachment that never existed', () => {
    host.ok('DEL', { containerId: 'never', netns: createContainer() }, host.config(dualStack));
  });

  it('succeeds for a name the container holds with a link that is no veth (lo), and leaves that link alone', () => {
    const container = createContainer();
    host.ok('DEL', { containerId: 'lo', netns: container, ifname: 'lo' }, host.config(dualStack));
    expect(container.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).toEqual(['lo']);
  });

  it('succeeds for a namespace path that runs through a file', () => {
    host.ok('DEL', { containerId: 'file', netns: `${createContainer().path}/` }, host.config(dualStack));
  });
});

describeAsRoot('bridge: IPv6 duplicate address detection', () => {
  it('skips DAD by default: the address is usable when ADD returns', () => {
    const host = new BridgeHost();
    const container = createContainer();
    host.add({ containerId: 'nodad', netns: container }, host.config({ isGateway: true, ipam: { type: 'host-local', subnet: 'fd42::/64' } }));
    expect(addressInfo(container, 'eth0').find((a) => a.local === 'fd42::2')).toMatchObject({ nodad: true });
    expect(pings(container, 'fd42::1')).toBe(true);
  });

  it('runs DAD with enabledad and returns once the address is no longer tentative', () => {
    const host = new BridgeHost();
    const container = createContainer();
    const config = host.config({ isGateway: true, enabledad: true, ipam: { type: 'host-local', subnet: 'fd43::/64' } });
    host.add({ containerId: 'dad', netns: container }, config);
    const address = addressInfo(container, 'eth0').find((a) => a.local === 'fd43::2')!;
    expect(address.nodad).toBeUndefined();
    expect(address.tentative).toBeUndefined();
    expect(sysctl(container, 'net.ipv6.conf.eth0.accept_dad')).toBe('1');
    expect(sysctl(container, 'net.ipv6.conf.eth0.enhanced_dad')).toBe('1');
  });

  it('fails ADD when DAD finds the address taken, leaving nothing behind', () => {
    const host = new BridgeHost();
    const first = createContainer();
    const config = host.config({ isGateway: true, enabledad: true, ipam: { type: 'host-local', subnet: 'fd44::/64' } });
    host.add({ containerId: 'dad1', netns: first }, config);
    // Someone on the bridge already answers for the address the next container gets.
    first.ip('addr', 'add', 'fd44::3/64', 'dev', 'eth0', 'nodad');
    const second = createContainer();
    const error = errorOf(host.run('ADD', { containerId: 'dad2', netns: second }, config));
    expect(error).toMatchObject({ code: 101, msg: 'duplicate address detection failed for fd44::3/64 on eth0' });
    expect(second.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    expect(host.allocations()).toEqual(['fd44::2']);
  });
});

describeAsRoot('bridge: GC and STATUS', () => {
  it('GC removes the allocations and nftables entries of attachments not listed as valid, and keeps the rest', () => {
    const host = new BridgeHost();
    const config = host.config({ ...dualStack, macspoofchk: true });
    const kept = createContainer();
    const stale = createContainer();
    host.add({ containerId: 'kept', netns: kept }, config);
    host.add({ containerId: 'stale', netns: stale }, config);
    expect(weftChains(host.netns)).toHaveLength(4);
    host.ok('GC', undefined, { ...config, 'cni.dev/valid-attachments': [{ containerID: 'kept', ifname: 'eth0' }] });
    expect(host.allocations()).toEqual(['10.99.0.2', 'fd99::2']);
    const chains = weftChains(host.netns);
    expect(chains.map((c) => c.family).sort()).toEqual(['inet', 'netdev']);
    // The kept container still goes out through masquerade: its chain is the one left.
    expect(chains.find((c) => c.family === 'inet')!.rules).toBe(2);
  });

  it('GC without the list of valid attachments is refused rather than taken as "none are valid"', () => {
    const host = new BridgeHost();
    const config = host.config(dualStack);
    host.add({ containerId: 'only', netns: createContainer() }, config);
    expect(errorOf(host.run('GC', undefined, config))).toMatchObject({ code: 7 });
    expect(weftChains(host.netns)).toHaveLength(1);
    expect(host.allocations()).toHaveLength(2);
  });

  it('STATUS reports the IPAM plugin’s answer: available, then code 50 once the range is full', () => {
    const host = new BridgeHost();
    const config = host.config({ isGateway: true, ipam: { type: 'host-local', subnet: '10.98.0.0/30' } });
    host.ok('STATUS', undefined, config);
    host.add({ containerId: 'fill', netns: createContainer() }, config);
    expect(errorOf(host.run('STATUS', undefined, config))).toMatchObject({ code: 50 });
  });
});

describeAsRoot('bridge: result versions', () => {
  it('writes the result in the config’s version', () => {
    const host = new BridgeHost();
    const ipam = { type: 'host-local', subnet: '10.97.0.0/24' };
    const v040 = host.add<Record<string, unknown>>({ containerId: 'v040', netns: createContainer() }, host.config({ isGateway: true, ipam }, '0.4.0'));
    expect(v040).toMatchObject({ cniVersion: '0.4.0', ips: [{ version: '4', interface: 2, address: '10.97.0.2/24', gateway: '10.97.0.1' }], dns: {} });
    const v020 = host.add<Record<string, unknown>>({ containerId: 'v020', netns: createContainer() }, host.config({ isGateway: true, ipam }, '0.2.0'));
    expect(v020).toEqual({ cniVersion: '0.2.0', ip4: { ip: '10.97.0.3/24', gateway: '10.97.0.1' }, dns: {} });
  });
});
