// The bridge plugin's own fields, read as the reference plugin reads them (same names, same defaults), each
// bad value a code-7 error naming the field. Checks that only ADD makes (hairpin with promiscuous mode,
// IPAM without a container interface) live in `checkAddSettings`, so a DEL with such a config still cleans up.
import { parseCniArgs } from '../../lib/cni/args.ts';
import { ConfigValue } from '../../lib/json/config-value.ts';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { NetConf } from '../../lib/cni/types.ts';
import { formatMac, parseMac } from '../../lib/netlink/mac.ts';

export const DEFAULT_BRIDGE = 'cni0';
const MAX_VLAN = 4094;
// The kernel's largest MTU for a veth; 0 leaves the kernel's default.
const MAX_MTU = 65535;
const MIN_MTU = 68;
export const IP_MASQ_BACKENDS = ['iptables', 'nftables'] as const;
export type IpMasqBackend = (typeof IP_MASQ_BACKENDS)[number];

export interface BridgeSettings {
  bridgeName: string;
  /** True also when isDefaultGateway is (the reference's rule). */
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  ipMasqBackend?: IpMasqBackend;
  /** Undefined: the kernel's default. */
  mtu?: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  /** 0: no VLAN. */
  vlan: number;
  /** Tagged VLANs of a trunk port, sorted, without repeats. */
  vlanTrunk: number[];
  /** The bridge is VLAN-aware: a `vlan` or a `vlanTrunk` (even an empty one) was given. */
  vlanFiltering: boolean;
  /** Keep the bridge's default VLAN on a port that has VLANs of its own (default false, as the reference). */
  preserveDefaultVlan: boolean;
  macSpoofCheck: boolean;
  enableDad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  /** args.cni.mac, overridden by runtimeConfig.mac; CNI_ARGS MAC= ranks below both (see `containerMac`). */
  mac?: string;
  /** True when an `ipam` section names a type: the plugin assigns addresses (layer 3). */
  layer3: boolean;
}

export interface BridgeConf extends NetConf {
  settings: BridgeSettings;
}

/** An interface's own address must be unicast (group bit clear) and not all zeros: the kernel refuses others. */
function unicastMac(text: string): string {
  const bytes = parseMac(text);
  if ((bytes[0]! & 1) !== 0 || bytes.every((b) => b === 0)) throw new TypeError(`not a unicast MAC address: ${JSON.stringify(text)}`);
  return formatMac(bytes);
}

function readMac(value: ConfigValue): string | undefined {
  const text = value.optionalString();
  if (text === undefined || text === '') return undefined;
  try {
    return unicastMac(text);
  } catch {
    throw value.invalid(`must be a unicast MAC address such as 02:42:0a:58:00:05, got ${JSON.stringify(text)}`);
  }
}

function readVlanId(value: ConfigValue): number {
  return value.integer({ min: 1, max: MAX_VLAN });
}

/** `vlanTrunk`: entries of `{minID, maxID}` (a range) and/or `{id}`, merged into a sorted list. */
export function readVlanTrunk(value: ConfigValue): number[] {
  const vids = new Set<number>();
  for (const item of value.list()) {
    item.object();
    const min = item.field('minID');
    const max = item.field('maxID');
    if (min.present !== max.present) {
      throw item.invalid(`needs minID and maxID together (${min.present ? 'maxID' : 'minID'} is missing)`);
    }
    if (min.present) {
      const low = readVlanId(min);
      const high = readVlanId(max);
      if (high < low) throw item.invalid(`has minID ${low} greater than maxID ${high}`);
      for (let vid = low; vid <= high; vid++) vids.add(vid);
    }
    const id = item.field('id');
    if (id.present) vids.add(readVlanId(id));
  }
  return [...vids].sort((a, b) => a - b);
}

function flag(raw: ConfigValue, name: string): boolean {
  return raw.field(name).optionalBoolean() ?? false;
}

/** The skeleton's parseConfig for the bridge plugin. */
export function parseBridgeConf(base: NetConf, raw: ConfigValue): BridgeConf {
  const bridge = raw.field('bridge');
  const vlanTrunk = raw.field('vlanTrunk');
  const backend = raw.field('ipMasqBackend');
  const backendName = backend.optionalString();
  if (backendName !== undefined && !(IP_MASQ_BACKENDS as readonly string[]).includes(backendName)) {
    throw backend.invalid(`must be "iptables" or "nftables", got ${JSON.stringify(backendName)}`);
  }
  const isDefaultGateway = flag(raw, 'isDefaultGateway');
  const mtu = raw.field('mtu').optionalInteger({ min: 0, max: MAX_MTU }) ?? 0;
  // 0 leaves the kernel's default; below IPv4's minimum the kernel refuses the link.
  if (mtu !== 0 && mtu < MIN_MTU) throw raw.field('mtu').invalid(`must be 0 (the kernel's default) or at least ${MIN_MTU}, got ${mtu}`);
  const vlan = raw.field('vlan').optionalInteger({ min: 0, max: MAX_VLAN }) ?? 0;
  const settings: BridgeSettings = {
    bridgeName: bridge.present ? bridge.interfaceName() : DEFAULT_BRIDGE,
    isGateway: isDefaultGateway || flag(raw, 'isGateway'),
    isDefaultGateway,
    forceAddress: flag(raw, 'forceAddress'),
    ipMasq: flag(raw, 'ipMasq'),
    hairpinMode: flag(raw, 'hairpinMode'),
    promiscMode: flag(raw, 'promiscMode'),
    vlan,
    vlanTrunk: vlanTrunk.present ? readVlanTrunk(vlanTrunk) : [],
    vlanFiltering: vlan !== 0 || vlanTrunk.present,
    preserveDefaultVlan: flag(raw, 'preserveDefaultVlan'),
    macSpoofCheck: flag(raw, 'macspoofchk'),
    enableDad: flag(raw, 'enabledad'),
    disableContainerInterface: flag(raw, 'disableContainerInterface'),
    portIsolation: flag(raw, 'portIsolation'),
    layer3: (base.ipam?.type ?? '') !== '',
  };
  if (settings.vlan !== 0 && settings.isGateway) {
    const gateway = vlanGatewayName(settings.bridgeName, settings.vlan);
    if (Buffer.byteLength(gateway) > 15) {
      throw bridge.invalid(`with vlan ${settings.vlan} names the gateway interface "${gateway}", longer than 15 characters`);
    }
  }
  if (backendName !== undefined) settings.ipMasqBackend = backendName as IpMasqBackend;
  if (mtu !== 0) settings.mtu = mtu;
  const mac = readMac(raw.field('runtimeConfig').field('mac')) ?? readMac(raw.field('args').field('cni').field('mac'));
  if (mac) settings.mac = mac;
  return { ...base, settings };
}

/** The interface that carries a VLAN's gateway address (the reference's name). */
export function vlanGatewayName(bridgeName: string, vlan: number): string {
  return `${bridgeName}.${vlan}`;
}

/** What only ADD refuses (the reference checks these in ADD alone). */
export function checkAddSettings(settings: BridgeSettings): void {
  if (settings.hairpinMode && settings.promiscMode) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'cannot set hairpin mode and promiscuous mode at the same time');
  }
  if (settings.layer3 && settings.disableContainerInterface) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'cannot use IPAM when disableContainerInterface is set');
  }
}


/**
 * The container interface's MAC: CNI_ARGS `MAC=` ranks lowest, then args.cni.mac, then runtimeConfig.mac
 * (capability `mac`). CNI_ARGS is read as the reference reads it: unknown keys are code 4 unless
 * IgnoreUnknown is set.
 */
export function containerMac(settings: BridgeSettings, cniArgs: string): string | undefined {
  const fromArgs = parseCniArgs(cniArgs, { MAC: unicastMac }).MAC;
  return settings.mac ?? fromArgs;
}
