// A subnet lease: which node holds which subnet, and how peers reach it. Stores key a lease by its IPv4
// subnet ("10.244.3.0-24", the form flannel uses in etcd) so that create-if-absent on that one key keeps
// subnets unique; the value holds the rest (`LeaseRecord`).
import { formatCidr, maskedNet, tryParseCidr } from '../../lib/ip/cidr.ts';
import { formatIp, tryParseIp } from '../../lib/ip/address.ts';

/** What a node publishes about itself. */
export interface LeaseAttrs {
  readonly nodeName: string;
  /** The node's underlay address: the outer destination of VXLAN packets to it. */
  readonly publicIp: string;
  /** The MAC of the node's VXLAN device, stable across restarts. */
  readonly vtepMac: string;
}

/** A lease as written: the subnets and the node's attributes. */
export interface LeaseSpec extends LeaseAttrs {
  /** IPv4 subnet, canonical CIDR ("10.244.3.0/24"). */
  readonly subnet: string;
  readonly ipv6Subnet?: string;
}

/** A lease as the store holds it. */
export interface Lease extends LeaseSpec {
  /** Milliseconds since the epoch as last observed; null for a reservation (a lease without TTL). */
  readonly expiresAt: number | null;
  /** Store revision of the lease's last change; conditional updates compare it. */
  readonly revision: number;
}

/** A store entry that is not a valid lease: its subnet still counts as taken. */
export interface InvalidEntry {
  readonly key: string;
  readonly problem: string;
}

/** All leases at one store revision. */
export interface LeaseSnapshot {
  readonly leases: readonly Lease[];
  readonly revision: number;
  readonly invalid: readonly InvalidEntry[];
}

/** "10.244.3.0/24" → "10.244.3.0-24". */
export function subnetKey(subnet: string): string {
  return subnet.replace('/', '-');
}

/** "10.244.3.0-24" → "10.244.3.0/24", or undefined when the key is not a canonical IPv4 subnet. */
export function subnetFromKey(key: string): string | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})-(\d{1,2})$/.exec(key);
  if (!match) return undefined;
  const net = tryParseCidr(`${match[1]}/${match[2]}`);
  if (!net) return undefined;
  const text = formatCidr(net);
  return formatCidr(maskedNet(net)) === text ? text : undefined;
}

export function notASubnetKey(key: string): string {
  return `key ${JSON.stringify(key)} is not a subnet such as 10.244.3.0-24`;
}

/** The JSON a store keeps for a lease besides its key and TTL. */
export interface LeaseRecord {
  nodeName: string;
  publicIp: string;
  vtepMac: string;
  ipv6Subnet?: string;
}

export function leaseRecord(spec: LeaseSpec): LeaseRecord {
  const record: LeaseRecord = { nodeName: spec.nodeName, publicIp: spec.publicIp, vtepMac: spec.vtepMac };
  if (spec.ipv6Subnet !== undefined) record.ipv6Subnet = spec.ipv6Subnet;
  return record;
}

const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * Reads a stored record back into a spec, or says what is wrong with it. An empty publicIp or vtepMac is
 * allowed: an operator's reservation names the node and the subnet, and the node fills in the rest.
 */
export function specFromRecord(key: string, value: unknown): LeaseSpec | string {
  const subnet = subnetFromKey(key);
  if (!subnet) return notASubnetKey(key);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'value is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.nodeName !== 'string' || v.nodeName === '') return '"nodeName" must be a non-empty string';
  const publicIp = v.publicIp ?? '';
  if (typeof publicIp !== 'string' || (publicIp !== '' && !tryParseIp(publicIp))) return '"publicIp" must be an IP address';
  const vtepMac = v.vtepMac ?? '';
  if (typeof vtepMac !== 'string' || (vtepMac !== '' && !macPattern.test(vtepMac))) return '"vtepMac" must be a MAC such as 0a:58:0a:f4:03:01';
  const spec: LeaseSpec = {
    subnet,
    nodeName: v.nodeName,
    publicIp: publicIp === '' ? '' : formatIp(tryParseIp(publicIp)!),
    vtepMac,
  };
  if (v.ipv6Subnet === undefined) return spec;
  const v6 = typeof v.ipv6Subnet === 'string' ? tryParseCidr(v.ipv6Subnet) : undefined;
  if (!v6 || v6.address.family !== 6) return '"ipv6Subnet" must be an IPv6 CIDR';
  return { ...spec, ipv6Subnet: formatCidr(maskedNet(v6)) };
}

/** Whether two leases publish the same thing (revision and expiry aside). */
export function sameSpec(a: LeaseSpec, b: LeaseSpec): boolean {
  return a.subnet === b.subnet && a.ipv6Subnet === b.ipv6Subnet && a.nodeName === b.nodeName &&
    a.publicIp === b.publicIp && a.vtepMac === b.vtepMac;
}

/**
 * The leases in subnet-address order, for stable listings (a new array). Each subnet is parsed once, not at
 * every comparison: with a thousand peers that was most of a sort's time.
 */
export function sortLeases<T extends LeaseSpec>(leases: readonly T[]): T[] {
  const keyed = leases.map((lease) => ({ lease, key: subnetOrder(lease.subnet) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.lease);
}

/** The key leases are ordered by: the subnet's address as a number. */
export function subnetOrder(subnet: string): bigint {
  return tryParseCidr(subnet)!.address.value;
}
