import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../lib/cni/errors.ts';
import type { JsonObject } from '../lib/json/json-value.ts';
import { formatCidr, netsOverlap, parseCidr } from '../lib/ip/cidr.ts';
import { configSubnets, planInstall, type InstallChoices, type PresentConfig, type Template } from './install-plan.ts';

const bridge: Template = {
  file: '10-weft-bridge.conflist',
  conf: {
    cniVersion: '1.0.0',
    name: 'weft-bridge',
    plugins: [{ type: 'bridge', bridge: 'weftbr0', ipam: { type: 'host-local', ranges: [[{ subnet: '10.66.0.0/16', gateway: '10.66.0.1' }], [{ subnet: 'fd66::/64' }]] } }],
  },
};
const overlay: Template = { file: '20-weft-overlay.conflist', conf: { cniVersion: '1.0.0', name: 'weft-overlay', plugins: [{ type: 'overlay' }] } };
const templates = [bridge, overlay];
const choices: InstallChoices = { cniVersion: '1.0.0', force: false };
const podman: PresentConfig = { file: '87-podman-bridge.conflist', network: 'podman', subnets: [parseCidr('10.88.0.0/16')] };
const flannel: PresentConfig = { file: '10-flannel.conflist', network: 'cbr0', subnets: [] };

const files = (plan: ReturnType<typeof planInstall>) => plan.write.map((w) => w.file);

describe('planInstall', () => {
  it('in an empty directory: both networks, the bridge first and so the default, said as such', () => {
    const plan = planInstall([], templates, [], choices);
    expect(files(plan)).toEqual(['90-weft-bridge.conflist', '90-weft-overlay.conflist']);
    expect(plan.defaultBefore).toBeUndefined();
    expect(plan.defaultAfter).toMatchObject({ file: '90-weft-bridge.conflist', network: 'weft-bridge' });
  });

  it('beside Podman\'s network: sorts after it, so the default stays Podman\'s', () => {
    const plan = planInstall([podman], templates, [], choices);
    expect(files(plan)).toEqual(['90-weft-bridge.conflist', '90-weft-overlay.conflist']);
    expect(plan.defaultBefore).toEqual(podman);
    expect(plan.defaultAfter).toEqual(podman);
  });

  it('with --default: that network sorts before every other file, the rest after', () => {
    const plan = planInstall([podman, flannel], templates, [], { ...choices, defaultNetwork: 'weft-overlay' });
    expect(files(plan)).toEqual(['05-weft-overlay.conflist', '90-weft-bridge.conflist']);
    expect(plan.defaultBefore).toEqual(flannel);
    expect(plan.defaultAfter?.network).toBe('weft-overlay');
  });

  it('picks a later priority when the first file sorts after 90 (a lone 99-loopback.conf)', () => {
    const loopback = { file: '99-loopback.conf', network: 'lo', subnets: [] };
    expect(files(planInstall([loopback], [bridge], [], choices))).toEqual(['99-weft-bridge.conflist']);
    expect(() => planInstall([{ file: '00-a.conf', subnets: [] }], [bridge], [], { ...choices, defaultNetwork: 'weft-bridge' }))
      .toThrow(expect.objectContaining({ code: ErrorCode.InvalidNetworkConfig, msg: 'no file name for weft-bridge.conflist sorts before 00-a.conf' }));
  });

  it('refuses --default naming no shipped network', () => {
    expect(() => planInstall([], templates, [], { ...choices, defaultNetwork: 'podman' }))
      .toThrow(expect.objectContaining({ code: ErrorCode.InvalidNetworkConfig, msg: '--default podman: weft ships no such network' }));
  });

  it('writes the chosen cniVersion', () => {
    const plan = planInstall([], templates, [], { ...choices, cniVersion: '1.1.0' });
    expect(plan.write.map((w) => w.conf.cniVersion)).toEqual(['1.1.0', '1.1.0']);
  });

  it('keeps a config that defines a shipped network (an earlier install, edited perhaps) unless forced', () => {
    const earlier = { file: '10-weft-bridge.conflist', network: 'weft-bridge', subnets: [parseCidr('10.88.0.0/16')] };
    const kept = planInstall([earlier, podman], templates, [], choices);
    expect(kept.kept).toEqual([earlier]);
    expect(files(kept)).toEqual(['90-weft-overlay.conflist']);
    expect(() => planInstall([earlier], templates, [], { ...choices, subnets: ['10.67.0.0/16'] }))
      .toThrow(expect.objectContaining({ msg: '--subnet: the bridge network exists and is kept' }));
    expect(() => planInstall([earlier], templates, [], { ...choices, defaultNetwork: 'weft-bridge' }))
      .toThrow(expect.objectContaining({ msg: '--default weft-bridge: the network exists and is kept where it is' }));
    // Forced: replaced under the name the rules give, the old file removed; its subnet no longer counts.
    const forced = planInstall([earlier, podman], templates, [], { ...choices, force: true });
    expect(files(forced)).toEqual(['90-weft-bridge.conflist', '90-weft-overlay.conflist']);
    expect(forced.remove).toEqual(['10-weft-bridge.conflist']);
    expect(forced.defaultBefore).toEqual(earlier);
    expect(forced.defaultAfter).toEqual(podman);
  });

  it('refuses a subnet that overlaps another network of the directory, naming it', () => {
    expect(() => planInstall([podman], templates, [], { ...choices, subnets: ['10.88.5.0/24'] })).toThrow(expect.objectContaining({
      code: ErrorCode.InvalidNetworkConfig,
      msg: 'subnet 10.88.5.0/24 of weft-bridge collides: network podman (87-podman-bridge.conflist) uses 10.88.0.0/16',
      details: 'choose another with --subnet CIDR',
    }));
  });

  it('refuses a subnet the host routes elsewhere, but not its own bridge\'s route, nor the default route', () => {
    const docker = { dst: parseCidr('172.17.0.0/16'), device: 'docker0' };
    expect(() => planInstall([], templates, [docker], { ...choices, subnets: ['172.17.0.0/20'] }))
      .toThrow(expect.objectContaining({ msg: 'subnet 172.17.0.0/20 of weft-bridge collides: the host routes 172.17.0.0/16 to docker0' }));
    const routes = [docker, { dst: parseCidr('10.66.0.0/16'), device: 'weftbr0' }, { dst: parseCidr('0.0.0.0/0'), device: 'eth0' }];
    expect(files(planInstall([], templates, routes, choices))).toHaveLength(2);
  });

  it('--subnet replaces the bridge\'s ranges, one range set per subnet, leaving the gateway to host-local', () => {
    const plan = planInstall([], templates, [], { ...choices, subnets: ['10.70.0.0/24', 'fd70::/64'] });
    const plugin = (plan.write[0]!.conf.plugins as JsonObject[])[0]!;
    expect(plugin.ipam).toEqual({ type: 'host-local', ranges: [[{ subnet: '10.70.0.0/24' }], [{ subnet: 'fd70::/64' }]] });
    expect(plan.write[0]!.subnets.map(formatCidr)).toEqual(['10.70.0.0/24', 'fd70::/64']);
    expect(() => planInstall([], templates, [], { ...choices, subnets: ['10.70.0.0'] })).toThrow(expect.objectContaining({ msg: '--subnet 10.70.0.0: not a CIDR subnet' }));
    expect(() => planInstall([], templates, [], { ...choices, subnets: [] })).toThrow(expect.objectContaining({ msg: '--subnet needs a CIDR subnet' }));
  });

  it('reads subnets from ranges and from the older "subnet", in lists and single configs', () => {
    expect(configSubnets(bridge.conf).map(formatCidr)).toEqual(['10.66.0.0/16', 'fd66::/64']);
    expect(configSubnets({ name: 'x', type: 'bridge', ipam: { type: 'host-local', subnet: '10.1.0.0/16' } }).map(formatCidr)).toEqual(['10.1.0.0/16']);
    expect(configSubnets({ name: 'x', plugins: [null, { type: 'x', ipam: { ranges: [[{ subnet: 'junk' }]] } }] })).toEqual([]);
  });
});

describe('the shipped bridge network', () => {
  // The defaults of the tools a user may already run on the machine.
  const others: Record<string, string> = {
    'Podman (and containerd\'s example)': '10.88.0.0/16',
    // Podman's default_subnet_pools, where `podman network create` takes further networks from.
    'Podman pool 1': '10.89.0.0/16',
    'Podman pool 2': '10.90.0.0/15',
    'Podman pool 3': '10.92.0.0/14',
    'Podman pool 4': '10.96.0.0/11',
    'Podman pool 5': '10.128.0.0/9',
    'CRI-O': '10.85.0.0/16',
    Docker: '172.17.0.0/16',
    'Docker\'s further networks': '172.18.0.0/15',
    flannel: '10.244.0.0/16',
    'kubeadm services': '10.96.0.0/12',
    'k3s pods and services': '10.42.0.0/15',
    'Weave Net': '10.32.0.0/12',
    Calico: '192.168.0.0/16',
    nerdctl: '10.4.0.0/24',
  };

  it('uses a subnet none of them does', () => {
    const conf = JSON.parse(readFileSync(new URL('../conf/net.d/10-weft-bridge.conflist', import.meta.url), 'utf8')) as JsonObject;
    const subnets = configSubnets(conf);
    expect(subnets.length).toBeGreaterThan(0);
    for (const subnet of subnets) {
      for (const [tool, theirs] of Object.entries(others)) expect(netsOverlap(subnet, parseCidr(theirs)), `${formatCidr(subnet)} vs ${tool}`).toBe(false);
    }
  });
});
