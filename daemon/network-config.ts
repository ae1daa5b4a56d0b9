// The overlay network's configuration, shared by every node (a file, or the store's config key): the
// IPv4 network split into per-node subnets, the optional IPv6 network paired with it, the VXLAN
// parameters and the lease TTL. Validation names the field and says what would be valid.
//
// IPv6 subnets are paired with IPv4 ones by position: the node holding subnet k of `network` holds subnet
// k of `ipv6Network`. One store key (the IPv4 subnet) then guards both, so create-if-absent keeps both
// unique without a second key.
//
// `domain` is the DNS zone weftd answers for on every node (daemon/dns/): services and containers get
// names below it. Its default is under `.internal`, the top-level name reserved for private use.
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import { ConfigValue } from '../lib/json/config-value.ts';
import type { JsonValue } from '../lib/json/json-value.ts';
import { formatIp, tryParseIp, type IpAddress, type IpFamily } from '../lib/ip/address.ts';
import { formatCidr, maskedNet, netContains, netSize, prefixMask, tryParseCidr, type IpNet } from '../lib/ip/cidr.ts';

export interface Ipv6Pairing {
  readonly network: IpNet;
  readonly subnetLen: number;
}

export interface NetworkConfig {
  /** The IPv4 overlay network, host bits clear. */
  readonly network: IpNet;
  readonly subnetLen: number;
  /** First and last subnet a node may be given (network addresses of /subnetLen subnets). */
  readonly subnetMin: IpAddress;
  readonly subnetMax: IpAddress;
  readonly ipv6?: Ipv6Pairing;
  readonly vni: number;
  /** VXLAN UDP destination port. */
  readonly port: number;
  /** UDP port of the overlay health probes (daemon/datapath/probe.ts): every node sends to it. */
  readonly probePort: number;
  /** Overlay MTU; absent means the underlay MTU minus the encapsulation overhead. */
  readonly mtu?: number;
  /** Peers on the same L2 segment are reached by a plain route, without encapsulation. */
  readonly directRouting: boolean;
  /** The daemon masquerades traffic leaving the overlay (so the CNI plugin must not). */
  readonly ipMasq: boolean;
  readonly ttlSeconds: number;
  /** The DNS zone of services and containers, lowercase, without a trailing dot. */
  readonly domain: string;
  /** How many nodes the cluster is planned for: the subnet range must hold them (checked when parsed). */
  readonly nodes?: number;
}

export const defaultVxlanPort = 4789;
export const defaultProbePort = 4799;
export const defaultTtlSeconds = 3600;
export const defaultDomain = 'weft.internal';
// Room below the zone for a container, a service of several labels and an SRV prefix within 253 characters.
const maxDomainLength = 100;
// Renewal runs at half-life on a timer; Node timers stop at 2^31-1 ms (24.8 days).
export const maxTtlSeconds = 30 * 24 * 3600;
const maxVni = 2 ** 24 - 1;

const knownFields = [
  'network', 'subnetLen', 'subnetMin', 'subnetMax', 'ipv6Network', 'ipv6SubnetLen',
  'vni', 'port', 'probePort', 'mtu', 'directRouting', 'ipMasq', 'ttl', 'domain', 'nodes',
] as const;

/** A code-7 error for the network config with a precise detail. */
function invalid(detail: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, 'invalid network config', detail);
}

/** Refuses fields this version does not know, suggesting the field a typo most likely meant. */
export function rejectUnknownFields(value: ConfigValue, known: readonly string[]): void {
  for (const key of Object.keys(value.object())) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
    const where = value.path === '' ? '' : ` in "${value.path}"`;
    const hint = near ? ` (did you mean "${near}"?)` : `; known fields: ${known.join(', ')}`;
    throw value.field(key).invalid(`is not a known field${where}${hint}`);
  }
}

function subnetSize(family: IpFamily, subnetLen: number): bigint {
  return 1n << BigInt((family === 4 ? 32 : 128) - subnetLen);
}

function maskedCidr(field: ConfigValue, family: IpFamily, other: string): IpNet {
  const text = field.string();
  const net = tryParseCidr(text);
  if (!net) throw field.invalid(`must be a CIDR such as ${family === 4 ? '10.244.0.0/16' : 'fd00:10:244::/56'}, got ${JSON.stringify(text)}`);
  if (net.address.family !== family) {
    throw field.invalid(`must be an IPv${family} CIDR, got ${JSON.stringify(text)} (IPv${net.address.family} goes in "${other}")`);
  }
  const masked = maskedNet(net);
  if (masked.address.value !== net.address.value) {
    throw field.invalid(`${text} has host bits set: did you mean ${formatCidr(masked)}?`);
  }
  return masked;
}

function subnetBound(field: ConfigValue, network: IpNet, subnetLen: number, fallback: IpAddress): IpAddress {
  if (!field.present) return fallback;
  const text = field.string();
  const ip = tryParseIp(text);
  if (!ip || ip.family !== 4) throw field.invalid(`must be an IPv4 address such as 10.244.1.0, got ${JSON.stringify(text)}`);
  if (!netContains(network, ip)) throw field.invalid(`${text} is outside network ${formatCidr(network)}`);
  const start = ip.value & prefixMask(4, subnetLen);
  if (start !== ip.value) {
    throw field.invalid(`${text} is not the first address of a /${subnetLen} subnet (${formatIp({ family: 4, value: start })} is)`);
  }
  return ip;
}

function domainField(field: ConfigValue): string {
  if (!field.present) return defaultDomain;
  const text = field.nonEmptyString().toLowerCase().replace(/\.$/, '');
  const labels = text.split('.');
  if (text.length > maxDomainLength || !labels.every((l) => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(l))) {
    throw field.invalid(`must be a DNS name of letters, digits and '-' of at most ${maxDomainLength} characters such as ${JSON.stringify(defaultDomain)}, got ${JSON.stringify(field.string())}`);
  }
  return text;
}

/** The subnet length flannel would pick: a /24 per node when the network allows, else a quarter of it. */
function defaultSubnetLen(prefix: number, family: IpFamily): number {
  const preferred = family === 4 ? 24 : 64;
  return prefix <= preferred - 2 ? preferred : prefix + 2;
}

function subnetLenField(field: ConfigValue, network: IpNet, longest: number, name: string): number {
  const family = network.address.family;
  if (!field.present) {
    const len = defaultSubnetLen(network.prefix, family);
    if (len > longest) throw invalid(`${name} ${formatCidr(network)} is too small to split into per-node subnets: use a prefix of /${longest - 2} or shorter`);
    return len;
  }
  const len = field.integer({ min: 0, max: family === 4 ? 32 : 128 });
  if (len <= network.prefix) {
    throw field.invalid(`must be longer than the prefix of ${name} ${formatCidr(network)} (/${network.prefix}), got ${len}`);
  }
  if (len > longest) {
    throw field.invalid(`must be at most ${longest}: a /${len} leaves no room for a gateway and containers, got ${len}`);
  }
  return len;
}

/** Validates a network config as JSON (from a file or the store) and fills in the defaults. */
export function parseNetworkConfig(raw: JsonValue | undefined, path = ''): NetworkConfig {
  const root = new ConfigValue(raw, path);
  if (!root.present) throw invalid('no network config: give one in the daemon config ("network") or in the store');
  root.object();
  rejectUnknownFields(root, knownFields);

  const network = maskedCidr(root.field('network'), 4, 'ipv6Network');
  const subnetLen = subnetLenField(root.field('subnetLen'), network, 30, 'network');
  const size = subnetSize(4, subnetLen);
  const base = network.address.value;
  const lastSubnet = base + netSize(network) - size;
  // The first subnet is skipped by default: its network address is the overlay network's own.
  const firstDefault = base + size <= lastSubnet ? base + size : base;
  const subnetMin = subnetBound(root.field('subnetMin'), network, subnetLen, { family: 4, value: firstDefault });
  const subnetMax = subnetBound(root.field('subnetMax'), network, subnetLen, { family: 4, value: lastSubnet });
  if (subnetMin.value > subnetMax.value) {
    throw invalid(`"subnetMin" ${formatIp(subnetMin)} is above "subnetMax" ${formatIp(subnetMax)}: no subnet to give out`);
  }

  const nodes = root.field('nodes').optionalInteger({ min: 1, max: 2 ** 24 });
  if (nodes !== undefined) checkRoom(nodes, network, subnetLen, subnetMin, subnetMax);

  let ipv6: Ipv6Pairing | undefined;
  const v6Field = root.field('ipv6Network');
  if (v6Field.present) {
    const v6Network = maskedCidr(v6Field, 6, 'network');
    const v6Len = subnetLenField(root.field('ipv6SubnetLen'), v6Network, 126, 'ipv6Network');
    const needed = (subnetMax.value - base) / size + 1n;
    const available = netSize(v6Network) / subnetSize(6, v6Len);
    if (available < needed) {
      throw invalid(
        `"ipv6Network" ${formatCidr(v6Network)} holds ${available} /${v6Len} subnets but the IPv4 range pairs up to ${needed} ` +
        `(IPv4 subnet k gets IPv6 subnet k): use a shorter "ipv6Network" prefix or a longer "ipv6SubnetLen"`,
      );
    }
    ipv6 = { network: v6Network, subnetLen: v6Len };
  } else if (root.field('ipv6SubnetLen').present) {
    throw root.field('ipv6SubnetLen').invalid('needs "ipv6Network"');
  }

  const mtu = root.field('mtu').optionalInteger({ min: 68, max: 65535 });
  if (mtu !== undefined && ipv6 && mtu < 1280) throw root.field('mtu').invalid(`must be at least 1280 with "ipv6Network" (IPv6's minimum), got ${mtu}`);
  const port = root.field('port').optionalInteger({ min: 1, max: 65535 }) ?? defaultVxlanPort;
  const probePort = root.field('probePort').optionalInteger({ min: 1, max: 65535 }) ?? defaultProbePort;
  // Both are bound on the underlay address: the kernel's VTEP on one, the probe socket on the other.
  if (probePort === port) throw root.field('probePort').invalid(`must differ from "port" (the VXLAN port), got ${probePort}`);
  const config: NetworkConfig = {
    network,
    subnetLen,
    subnetMin,
    subnetMax,
    vni: root.field('vni').optionalInteger({ min: 1, max: maxVni }) ?? 1,
    port,
    probePort,
    directRouting: root.field('directRouting').optionalBoolean() ?? false,
    ipMasq: root.field('ipMasq').optionalBoolean() ?? true,
    ttlSeconds: root.field('ttl').optionalInteger({ min: 1, max: maxTtlSeconds }) ?? defaultTtlSeconds,
    domain: domainField(root.field('domain')),
  };
  return { ...config, ...(ipv6 ? { ipv6 } : {}), ...(mtu !== undefined ? { mtu } : {}), ...(nodes !== undefined ? { nodes } : {}) };
}

/**
 * Refuses a subnet range that cannot give `nodes` nodes a subnet each, saying what it holds and what would
 * (the shipped 10.244.0.0/16 in /24s holds 255 nodes, a tenth of a large cluster).
 */
function checkRoom(nodes: number, network: IpNet, subnetLen: number, subnetMin: IpAddress, subnetMax: IpAddress): void {
  const size = subnetSize(4, subnetLen);
  const held = (subnetMax.value - subnetMin.value) / size + 1n;
  if (held >= BigInt(nodes)) return;
  // The bits a range starting at the network's second subnet (the default) needs for `nodes` subnets.
  const bits = Math.ceil(Math.log2(nodes + 1));
  const ways = [`"network" with a prefix of /${subnetLen - bits} or shorter`];
  if (network.prefix + bits <= 30) ways.push(`"subnetLen" ${network.prefix + bits} or longer in ${formatCidr(network)}`);
  throw invalid(
    `"nodes" asks for ${nodes} but network ${formatCidr(network)} in /${subnetLen} subnets gives out ${held} ` +
    `(${formatIp(subnetMin)} to ${formatIp(subnetMax)}): use ${ways.join(', or ')}`,
  );
}

/**
 * The config as JSON with every default written out (but a default domain, which daemons older than the
 * field would refuse in the store): two configs mean the same iff these are equal.
 */
export function networkConfigJson(config: NetworkConfig): Record<string, JsonValue> {
  return {
    network: formatCidr(config.network),
    subnetLen: config.subnetLen,
    subnetMin: formatIp(config.subnetMin),
    subnetMax: formatIp(config.subnetMax),
    ...(config.ipv6 ? { ipv6Network: formatCidr(config.ipv6.network), ipv6SubnetLen: config.ipv6.subnetLen } : {}),
    vni: config.vni,
    port: config.port,
    probePort: config.probePort,
    ...(config.mtu !== undefined ? { mtu: config.mtu } : {}),
    directRouting: config.directRouting,
    ipMasq: config.ipMasq,
    ttl: config.ttlSeconds,
    ...(config.domain !== defaultDomain ? { domain: config.domain } : {}),
    ...(config.nodes !== undefined ? { nodes: config.nodes } : {}),
  };
}

/** Names the fields in which two configs differ ("vni: 1 here, 2 in the store"). */
export function networkConfigDifferences(local: NetworkConfig, stored: NetworkConfig): string[] {
  const a = networkConfigJson(local);
  const b = networkConfigJson(stored);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: ${JSON.stringify(a[k] ?? null)} here, ${JSON.stringify(b[k] ?? null)} in the store`);
}

// ---- Subnets by position ----

/** How many subnets [subnetMin, subnetMax] holds. */
export function subnetCount(config: NetworkConfig): number {
  return Number((config.subnetMax.value - config.subnetMin.value) / subnetSize(4, config.subnetLen)) + 1;
}

/** Subnet number `index` of the range (0 is subnetMin). */
export function subnetAt(config: NetworkConfig, index: number): IpNet {
  const value = config.subnetMin.value + BigInt(index) * subnetSize(4, config.subnetLen);
  return { address: { family: 4, value }, prefix: config.subnetLen };
}

/** The position of `subnet` in the range, or undefined when it is not one of the range's subnets. */
export function subnetIndex(config: NetworkConfig, subnet: IpNet): number | undefined {
  if (subnet.address.family !== 4 || subnet.prefix !== config.subnetLen) return undefined;
  const offset = subnet.address.value - config.subnetMin.value;
  const size = subnetSize(4, config.subnetLen);
  if (offset < 0n || offset % size !== 0n || subnet.address.value > config.subnetMax.value) return undefined;
  return Number(offset / size);
}

/** The IPv6 subnet paired with an IPv4 subnet of the network (same position from each network's start). */
export function pairedIpv6Subnet(config: NetworkConfig, subnet: IpNet): IpNet | undefined {
  if (!config.ipv6) return undefined;
  const position = (subnet.address.value - config.network.address.value) / subnetSize(4, config.subnetLen);
  const value = config.ipv6.network.address.value + position * subnetSize(6, config.ipv6.subnetLen);
  return { address: { family: 6, value }, prefix: config.ipv6.subnetLen };
}

// ---- MTU ----

/** VXLAN overhead on the underlay: outer IP + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export function encapsulationOverhead(underlayFamily: IpFamily): number {
  return underlayFamily === 6 ? 70 : 50;
}

/** The overlay MTU: the configured one, else what the underlay leaves after encapsulation. */
export function overlayMtu(config: NetworkConfig, underlay: { mtu: number; family: IpFamily }): number {
  const fitting = underlay.mtu - encapsulationOverhead(underlay.family);
  if (config.mtu === undefined) {
    if (config.ipv6 && fitting < 1280) {
      throw invalid(`the underlay MTU ${underlay.mtu} leaves ${fitting} for the overlay, below IPv6's minimum of 1280 needed by "ipv6Network"`);
    }
    return fitting;
  }
  if (config.mtu > fitting) {
    throw invalid(
      `"mtu" ${config.mtu} does not fit the underlay: its MTU ${underlay.mtu} minus ${encapsulationOverhead(underlay.family)} ` +
      `bytes of VXLAN over IPv${underlay.family} leaves ${fitting}`,
    );
  }
  return config.mtu;
}
