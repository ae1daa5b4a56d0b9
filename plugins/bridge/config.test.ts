import { describe, expect, it } from 'vitest';
import { ConfigValue } from '../../lib/json/config-value.ts';
import { netConfFromObject } from '../../lib/cni/config.ts';
import { ErrorCode } from '../../lib/cni/errors.ts';
import type { JsonObject } from '../../lib/json/json-value.ts';
import { checkAddSettings, containerMac, parseBridgeConf, type BridgeSettings } from './config.ts';

function parse(fields: JsonObject): BridgeSettings {
  const raw: JsonObject = { cniVersion: '1.1.0', name: 'net', type: 'bridge', ...fields };
  return parseBridgeConf(netConfFromObject(raw), new ConfigValue(raw)).settings;
}

function failure(fn: () => unknown): { code: number; msg: string; details?: string } {
  try {
    fn();
  } catch (err) {
    return err as { code: number; msg: string; details?: string };
  }
  throw new Error('expected a failure');
}

describe('bridge settings', () => {
  it('has the reference defaults', () => {
    expect(parse({})).toEqual({
      bridgeName: 'cni0',
      isGateway: false,
      isDefaultGateway: false,
      forceAddress: false,
      ipMasq: false,
      hairpinMode: false,
      promiscMode: false,
      vlan: 0,
      vlanTrunk: [],
      vlanFiltering: false,
      preserveDefaultVlan: false,
      macSpoofCheck: false,
      enableDad: false,
      disableContainerInterface: false,
      portIsolation: false,
      layer3: false,
    });
  });

  it('reads every option, isDefaultGateway implying isGateway', () => {
    const settings = parse({
      bridge: 'br-test', isDefaultGateway: true, forceAddress: true, ipMasq: true, ipMasqBackend: 'nftables', mtu: 1400,
      hairpinMode: true, vlan: 100, preserveDefaultVlan: true, macspoofchk: true, enabledad: true, portIsolation: true,
      ipam: { type: 'host-local' },
    });
    expect(settings).toMatchObject({
      bridgeName: 'br-test', isGateway: true, isDefaultGateway: true, forceAddress: true, ipMasq: true, ipMasqBackend: 'nftables',
      mtu: 1400, hairpinMode: true, vlan: 100, vlanFiltering: true, preserveDefaultVlan: true, macSpoofCheck: true,
      enableDad: true, portIsolation: true, layer3: true,
    });
  });

  it('treats mtu 0 as unset and an ipam section without a type as layer 2', () => {
    expect(parse({ mtu: 0, ipam: {} })).not.toHaveProperty('mtu');
    expect(parse({ ipam: { type: '' } }).layer3).toBe(false);
  });

  it('merges vlanTrunk ranges and ids into a sorted list, and makes the bridge VLAN-aware even when empty', () => {
    expect(parse({ vlanTrunk: [{ id: 300 }, { minID: 200, maxID: 202 }, { id: 201 }] }).vlanTrunk).toEqual([200, 201, 202, 300]);
    expect(parse({ vlanTrunk: [] })).toMatchObject({ vlanTrunk: [], vlanFiltering: true });
  });

  it.each([
    [{ vlanTrunk: [{ minID: 5 }] }, '"vlanTrunk[0]" needs minID and maxID together (maxID is missing)'],
    [{ vlanTrunk: [{ maxID: 5 }] }, '"vlanTrunk[0]" needs minID and maxID together (minID is missing)'],
    [{ vlanTrunk: [{ minID: 9, maxID: 5 }] }, '"vlanTrunk[0]" has minID 9 greater than maxID 5'],
    [{ vlanTrunk: [{ id: 4095 }] }, '"vlanTrunk[0].id" must be at most 4094, got 4095'],
    [{ vlanTrunk: [{ id: 0 }] }, '"vlanTrunk[0].id" must be at least 1, got 0'],
    [{ vlan: 4095 }, '"vlan" must be at most 4094, got 4095'],
    [{ vlan: -1 }, '"vlan" must be at least 0, got -1'],
    [{ mtu: 70000 }, '"mtu" must be at most 65535, got 70000'],
    [{ mtu: 10 }, '"mtu" must be 0 (the kernel\'s default) or at least 68, got 10'],
    [{ mtu: '1500' }, '"mtu" must be an integer, got string "1500"'],
    [{ hairpinMode: 'yes' }, '"hairpinMode" must be true or false, got string "yes"'],
    [{ bridge: 'a-bridge-name-too-long' }, '"bridge" must be an interface name (interface name is too long), got "a-bridge-name-too-long"'],
    [{ bridge: '' }, '"bridge" must be an interface name (interface name is empty), got ""'],
    [{ bridge: 'br 0' }, '"bridge" must be an interface name (interface name contains / or : or whitespace characters), got "br 0"'],
    [{ bridge: 'hb\u0000br' }, '"bridge" must be an interface name (interface name contains a NUL byte), got "hb\\u0000br"'],
    [{ ipMasqBackend: 'pf' }, '"ipMasqBackend" must be "iptables" or "nftables", got "pf"'],
    [{ runtimeConfig: { mac: 'zz:00:00:00:00:00' } }, '"runtimeConfig.mac" must be a unicast MAC address such as 02:42:0a:58:00:05, got "zz:00:00:00:00:00"'],
    [{ runtimeConfig: { mac: 'ff:ff:ff:ff:ff:ff' } }, '"runtimeConfig.mac" must be a unicast MAC address such as 02:42:0a:58:00:05, got "ff:ff:ff:ff:ff:ff"'],
    [{ args: { cni: { mac: '01:00:5e:00:00:01' } } }, '"args.cni.mac" must be a unicast MAC address such as 02:42:0a:58:00:05, got "01:00:5e:00:00:01"'],
    [{ runtimeConfig: { mac: '00:00:00:00:00:00' } }, '"runtimeConfig.mac" must be a unicast MAC address such as 02:42:0a:58:00:05, got "00:00:00:00:00:00"'],
    [{ bridge: 'abcdefghijklm', vlan: 100, isGateway: true }, '"bridge" with vlan 100 names the gateway interface "abcdefghijklm.100", longer than 15 characters'],
  ])('refuses %j with code 7', (fields, details) => {
    expect(failure(() => parse(fields as JsonObject))).toMatchObject({ code: ErrorCode.InvalidNetworkConfig, details });
  });

  it('refuses in ADD only: hairpin with promiscuous mode, and IPAM without a container interface', () => {
    const both = parse({ hairpinMode: true, promiscMode: true });
    expect(failure(() => checkAddSettings(both))).toMatchObject({ code: 7, msg: 'cannot set hairpin mode and promiscuous mode at the same time' });
    const l3 = parse({ disableContainerInterface: true, ipam: { type: 'host-local' } });
    expect(failure(() => checkAddSettings(l3))).toMatchObject({ code: 7, msg: 'cannot use IPAM when disableContainerInterface is set' });
    expect(() => checkAddSettings(parse({ disableContainerInterface: true }))).not.toThrow();
  });
});

describe('container MAC', () => {
  it('ranks CNI_ARGS MAC below args.cni.mac below runtimeConfig.mac', () => {
    const args = 'IgnoreUnknown=1;MAC=02:00:00:00:00:01';
    expect(containerMac(parse({}), args)).toBe('02:00:00:00:00:01');
    expect(containerMac(parse({ args: { cni: { mac: '02:00:00:00:00:02' } } }), args)).toBe('02:00:00:00:00:02');
    const both = parse({ args: { cni: { mac: '02:00:00:00:00:02' } }, runtimeConfig: { mac: '02-00-00-00-00-0A' } });
    expect(containerMac(both, args)).toBe('02:00:00:00:00:0a');
    expect(containerMac(parse({ runtimeConfig: { mac: '' } }), '')).toBeUndefined();
  });

  it('reads CNI_ARGS as the reference does: unknown keys are code 4 unless IgnoreUnknown', () => {
    expect(failure(() => containerMac(parse({}), 'K8S_POD_NAME=web'))).toMatchObject({ code: ErrorCode.InvalidEnvironment });
    expect(containerMac(parse({}), 'IgnoreUnknown=true;K8S_POD_NAME=web')).toBeUndefined();
    expect(failure(() => containerMac(parse({ runtimeConfig: { mac: '02:00:00:00:00:03' } }), 'MAC=nonsense'))).toMatchObject({ code: 4 });
    expect(failure(() => containerMac(parse({}), 'MAC=ff:ff:ff:ff:ff:ff'))).toMatchObject({ code: 4 });
  });
});
