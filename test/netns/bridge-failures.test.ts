// A failed ADD leaves nothing behind. Each step of ADD is made to fail by a real condition — a missing
// namespace, a full address range, a bridge name taken by another kind of link, an interface name taken in
// the container, an unreachable route, an address in the way on the bridge, IP forwarding that cannot be
// turned on, nftables chains the kernel refuses — and the host's links, addresses, routes, nftables chains and IPAM store,
// and the container's links and addresses, must be as they were. Bad input is refused with the spec's
// error JSON and the right code, before anything is touched.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanupAfterAll, describeAsRoot, isRoot } from './testing/suite.ts';
import { masqueradeChains } from '../../lib/nat/masquerade.ts';
import { spoofCheckChains } from '../../lib/nat/spoof-check.ts';
import { nftScript, pings } from './testing/nat.ts';
import {
  BridgeHost, bridgeName, createContainer, network, errorOf, hostState, kernelHasVlanFiltering, link, ports, type Attachment,
} from './testing/bridge.ts';

cleanupAfterAll();

const masqueraded = (subnet: string, extra: Record<string, unknown> = {}) => ({
  isDefaultGateway: true,
  ipMasq: true,
  ipam: { type: 'host-local', subnet, ...extra },
});

/** Runs the plugin in a private mount namespace where `setup` (a shell line) has changed what it sees. */
function withMounts(setup: string): readonly string[] {
  // `ip netns exec` already runs the plugin in a mount namespace of its own, slave to the host's: nothing
  // mounted here reaches the machine.
  return ['sh', '-c', `${setup} && exec "$0"`];
}

describeAsRoot('bridge: a failed ADD leaves nothing behind', () => {
  function expectFailureLeavesNothing(host: BridgeHost, attachment: Attachment & { netns: import('./testing/netns.ts').Netns }, config: unknown, expected: { code: number; msg: string }, options = {}) {
    const before = hostState(host, attachment.netns);
    const error = errorOf(host.run('ADD', attachment, config, options));
    expect(error).toMatchObject(expected);
    expect(hostState(host, attachment.netns)).toEqual(before);
    return error;
  }

  it('open the namespace: a namespace that does not exist', () => {
    const host = new BridgeHost();
    const before = hostState(host);
    const error = errorOf(host.run('ADD', { containerId: 'gone', netns: '/run/netns/wt-no-such-namespace' }, host.config(masqueraded('10.60.0.0/24'))));
    expect(error).toMatchObject({ code: 4, msg: 'failed to open netns "/run/netns/wt-no-such-namespace"' });
    expect(hostState(host)).toEqual(before);
  });

  it('allocate addresses: a full range, and an IPAM plugin missing from CNI_PATH', () => {
    const host = new BridgeHost();
    const config = host.config(masqueraded('10.61.0.0/24', { rangeStart: '10.61.0.10', rangeEnd: '10.61.0.10' }));
    host.add({ containerId: 'first', netns: createContainer() }, config);
    const error = expectFailureLeavesNothing(host, { containerId: 'second', netns: createContainer() }, config, { code: 101, msg: expect.any(String) });
    expect(error.msg).toMatch(/no IP addresses available/);
    expectFailureLeavesNothing(host, { containerId: 'third', netns: createContainer() }, host.config({ ipam: { type: 'wt-no-such-ipam' } }), {
      code: 4,
      msg: 'failed to find plugin "wt-no-such-ipam" in path [' + host.binDir + ']',
    });
  });

  it('set up the bridge: its name is taken by a link that is not a bridge', () => {
    const host = new BridgeHost();
    host.netns.ip('link', 'add', bridgeName, 'type', 'veth', 'peer', 'name', 'wtpeer0');
    expectFailureLeavesNothing(host, { containerId: 'c', netns: createContainer() }, host.config(masqueraded('10.62.0.0/24')), {
      code: 7,
      msg: `"${bridgeName}" already exists but is not a bridge`,
    });
  });

  it('create the veth pair: the interface name is taken in the container; nothing is made', () => {
    const host = new BridgeHost();
    const container = createContainer();
    container.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0');
    expectFailureLeavesNothing(host, { containerId: 'c', netns: container }, host.config(masqueraded('10.63.0.0/24')), {
      code: 100,
      msg: `interface "eth0" in ${container.path} already exists`,
    });
    expect(host.netns.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).toEqual(['lo']);
  });

  it('the same ADD twice: the second fails and leaves the first attachment as it was, masquerade and address included', () => {
    const host = new BridgeHost();
    const container = createContainer();
    const config = host.config({ ...masqueraded('10.68.0.0/24'), macspoofchk: true });
    host.add({ containerId: 'twice', netns: container }, config);
    expectFailureLeavesNothing(host, { containerId: 'twice', netns: container }, config, {
      code: 100,
      msg: `interface "eth0" in ${container.path} already exists`,
    });
    expect(pings(container, '10.68.0.1')).toBe(true);
  });

  it('configure the container interface: a route via an unreachable gateway; then the same ADD, fixed, succeeds', () => {
    const host = new BridgeHost();
    const container = createContainer();
    const broken = host.config(masqueraded('10.64.0.0/24', { routes: [{ dst: '198.51.100.0/24', gw: '203.0.113.1' }] }));
    expectFailureLeavesNothing(host, { containerId: 'c', netns: container }, broken, { code: 100, msg: 'failed to configure container interface' });
    // Unlike the reference, which leaves its veth behind and then refuses this ADD.
    host.add({ containerId: 'c', netns: container }, host.config(masqueraded('10.64.0.0/24')));
    expect(pings(container, '10.64.0.1')).toBe(true);
  });

  it('set gateway addresses: the bridge holds another IPv4 address; it keeps it', () => {
    const host = new BridgeHost();
    host.netns.ip('link', 'add', bridgeName, 'type', 'bridge');
    host.netns.ip('addr', 'add', '192.168.77.1/24', 'dev', bridgeName);
    host.netns.ip('link', 'set', bridgeName, 'up');
    expectFailureLeavesNothing(host, { containerId: 'c', netns: createContainer() }, host.config(masqueraded('10.65.0.0/24')), {
      code: 7,
      msg: `"${bridgeName}" already has an IP address different from 10.65.0.1/24`,
    });
  });

  it('set gateway addresses: with forceAddress the address is replaced, and put back when a later step fails', () => {
    const host = new BridgeHost();
    host.netns.ip('link', 'add', bridgeName, 'type', 'bridge');
    host.netns.ip('addr', 'add', '192.168.78.1/24', 'dev', bridgeName);
    host.netns.ip('link', 'set', bridgeName, 'up');
    const config = host.config({ ...masqueraded('10.66.0.0/24'), forceAddress: true });
    // IP forwarding cannot be turned on: the step that fails comes after the gateway was replaced.
    expectFailureLeavesNothing(host, { containerId: 'c', netns: createContainer() }, config, { code: 100, msg: 'failed to enable IP forwarding' }, {
      wrapper: withMounts('mount --bind -o ro /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/ip_forward'),
    });
    const container = createContainer();
    host.add({ containerId: 'ok', netns: container }, config);
    expect(host.netns.ipJson<Array<{ addr_info: Array<{ local: string }> }>>('addr', 'show', 'dev', bridgeName)[0]!.addr_info.map((a) => a.local)).not.toContain('192.168.78.1');
  });

  it('report the result: a 0.2.0 result cannot say that an attachment has no address (no IPAM)', () => {
    const host = new BridgeHost();
    expectFailureLeavesNothing(host, { containerId: 'c', netns: createContainer() }, host.config({}, '0.2.0'), {
      code: 1,
      msg: 'cannot convert: no valid IP addresses',
    });
  });

  it('enable IP forwarding: the sysctl is read-only', () => {
    const host = new BridgeHost();
    expectFailureLeavesNothing(host, { containerId: 'c', netns: createContainer() }, host.config(masqueraded('10.67.0.0/24')), {
      code: 100,
      msg: 'failed to enable IP forwarding',
    }, { wrapper: withMounts('mount --bind -o ro /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/ip_forward') });
  });

  // A plain chain squatting on the attachment's chain name: the kernel refuses to make it a base chain.
  function squat(host: BridgeHost, family: 'inet' | 'netdev', chain: string): void {
    nftScript(host.netns, `add table ${family} weft\nadd chain ${family} weft ${chain}\n`);
  }

  it('install masquerade: the kernel refuses the chain; the addresses are released', () => {
    const host = new BridgeHost();
    host.add({ containerId: 'other', netns: createContainer() }, host.config(masqueraded('10.68.0.0/24')));
    squat(host, 'inet', masqueradeChains.name({ network, containerId: 'c', ifName: 'eth0' }));
    expectFailureLeavesNothing(host, { containerId: 'c', netns: createContainer() }, host.config(masqueraded('10.68.0.0/24')), {
      code: 103,
      msg: 'nftables transaction failed',
    });
    expect(ports(host.netns)).toHaveLength(1);
  });

  it('install MAC spoof check: the kernel refuses the chain; the veth and the masquerade are undone too', () => {
    const host = new BridgeHost();
    squat(host, 'netdev', spoofCheckChains.name({ network, containerId: 'c', ifName: 'eth0' }));
    expectFailureLeavesNothing(host, { containerId: 'c', netns: createContainer() }, host.config({ ...masqueraded('10.68.1.0/24'), macspoofchk: true }), {
      code: 103,
      msg: 'nftables transaction failed',
    });
  });

  it.skipIf(!isRoot || kernelHasVlanFiltering())('attach the veth to the bridge: VLANs on a kernel without VLAN-aware bridges', () => {
    const host = new BridgeHost();
    host.netns.ip('link', 'add', bridgeName, 'type', 'bridge');
    expectFailureLeavesNothing(host, { containerId: 'c', netns: createContainer() }, host.config({ vlan: 7, ipam: { type: 'host-local', subnet: '10.69.0.0/24' } }), {
      code: 100,
      msg: 'failed to attach veth to bridge',
    });
  });
});

describeAsRoot('bridge: bad input is refused with the spec’s error, nothing changed', () => {
  let host: BridgeHost;
  let container: import('./testing/netns.ts').Netns;
  let before: unknown;
  const good = () => host.config(masqueraded('10.70.0.0/24'));

  beforeAll(() => {
    host = new BridgeHost();
    container = createContainer();
    host.add({ containerId: 'existing', netns: createContainer() }, good());
    before = hostState(host, container);
  });

  const cases: Array<[string, () => unknown, Partial<Attachment>, { code: number; msg?: string; details?: unknown }]> = [
    ['malformed JSON', () => '{"cniVersion": "1.1.0", "name": ', {}, { code: 6, msg: 'error unmarshall network config' }],
    ['a JSON list', () => '[]', {}, { code: 6 }],
    ['JSON nested 5 million levels deep (10 MB)', () => `${'['.repeat(5_000_000)}${']'.repeat(5_000_000)}`, {}, {
      code: 6, msg: 'error unmarshall network config', details: expect.stringMatching(/^exceeded max depth/),
    }],
    ['an unknown version', () => ({ ...good(), cniVersion: '9.9.9' }), {}, { code: 1, msg: 'incompatible CNI versions' }],
    ['a bad CIDR', () => host.config(masqueraded('10.70.0.0/33')), {}, { code: 7 }],
    ['a gateway outside its subnet', () => host.config(masqueraded('10.99.2.0/24', { gateway: '10.99.3.1' })), {}, {
      code: 7, msg: 'invalid range set 0: Gateway 10.99.3.1 not in network 10.99.2.0/24',
    }],
    ['an IPv6 gateway outside its subnet', () => host.config(masqueraded('fd00:99::/64', { gateway: 'fd00:98::1' })), {}, {
      code: 7, msg: 'invalid range set 0: Gateway fd00:98::1 not in network fd00:99::/64',
    }],
    ['a missing name', () => ({ ...good(), name: undefined }), {}, { code: 7, msg: 'missing network name' }],
    // Read without a bound, /dev/zero grew the plugin by gigabytes until the runtime gave up.
    ['a resolvConf that is a device', () => host.config(masqueraded('10.70.0.0/24', { resolvConf: '/dev/zero' })), {}, {
      code: 7, msg: 'invalid resolvConf', details: '/dev/zero is not a regular file',
    }],
    ['a missing ipam type field type', () => ({ ...good(), ipam: { type: 7 } }), {}, { code: 7 }],
    ['an oversized bridge name', () => ({ ...good(), bridge: 'a-much-too-long-name' }), {}, { code: 7 }],
    ['a bridge name with a NUL byte', () => ({ ...good(), bridge: 'hb\u0000br' }), {}, {
      code: 7, details: '"bridge" must be an interface name (interface name contains a NUL byte), got "hb\\u0000br"',
    }],
    ['hairpin with promiscuous mode', () => ({ ...good(), hairpinMode: true, promiscMode: true }), {}, { code: 7 }],
    ['a VLAN out of range', () => ({ ...good(), vlan: 5000 }), {}, { code: 7, details: '"vlan" must be at most 4094, got 5000' }],
    ['a bad MAC', () => ({ ...good(), runtimeConfig: { mac: 'not-a-mac' } }), {}, { code: 7 }],
    ['an unknown CNI_ARGS key', good, { args: 'FOO=bar' }, { code: 4, msg: 'invalid CNI_ARGS' }],
    ['an oversized interface name', good, { ifname: 'a-much-too-long-ifname' }, { code: 4, msg: 'interface name is too long' }],
    ['an invalid container ID', good, { containerId: 'bad id' }, { code: 4 }],
  ];

  it.each(cases)('%s', (_what, config, attachment, expected) => {
    const result = host.run('ADD', { containerId: 'new', netns: container, ...attachment }, config());
    expect(result.status).toBe(1);
    expect(errorOf(result)).toMatchObject({ cniVersion: expect.any(String), ...expected });
    expect(hostState(host, container)).toEqual(before);
  });

  it('a missing CNI_NETNS is code 4', () => {
    expect(errorOf(host.run('ADD', { containerId: 'new', netns: container }, good(), { noNetns: true }))).toMatchObject({
      code: 4,
      msg: 'required env variables [CNI_NETNS] missing',
    });
    expect(hostState(host, container)).toEqual(before);
  });

  it('a CNI_NETNS that is not a namespace is code 4', () => {
    const file = join(host.dataDir, 'not-a-netns');
    writeFileSync(file, '');
    expect(errorOf(host.run('ADD', { containerId: 'new', netns: file }, good()))).toMatchObject({ code: 4, msg: `failed to open netns "${file}"` });
    expect(hostState(host, container)).toEqual(before);
  });

  it('leaves the existing attachment working', () => {
    expect(link(host.netns, bridgeName).operstate).toBe('UP');
    expect(ports(host.netns)).toHaveLength(1);
  });
});

describe('bridge: VERSION', () => {
  it.skipIf(!isRoot)('answers with every version it speaks', () => {
    const host = new BridgeHost();
    const result = host.run('VERSION' as never, undefined, { cniVersion: '1.0.0' });
    expect(JSON.parse(result.stdout)).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });
});
