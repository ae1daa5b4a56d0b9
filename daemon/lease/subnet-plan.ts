// Choosing this node's subnet from a snapshot of the store: pure, so every rule is tested without a store.
// Order of preference: a lease already under this node's name (a reservation first), the subnet the local
// state file remembers, then a random free one. Random, so that nodes starting together rarely pick the
// same subnet; when they do, the store's create-if-absent lets one win and the other tries again.
import { formatCidr, tryParseCidr, type IpNet } from '../../lib/ip/cidr.ts';
import { pairedIpv6Subnet, subnetAt, subnetCount, subnetIndex, type NetworkConfig } from '../network-config.ts';
import { subnetFromKey, type Lease, type LeaseSnapshot } from './lease.ts';

export interface SubnetPair {
  readonly subnet: string;
  readonly ipv6Subnet?: string;
}

export type AcquirePlan =
  | { readonly action: 'reuse'; readonly lease: Lease; readonly remove: readonly Lease[]; readonly notes: readonly string[] }
  | {
    readonly action: 'create';
    readonly subnets: SubnetPair;
    readonly source: 'previous' | 'free';
    readonly remove: readonly Lease[];
    readonly notes: readonly string[];
  }
  | { readonly action: 'exhausted'; readonly remove: readonly Lease[]; readonly notes: readonly string[] };

export interface PlanInput {
  readonly config: NetworkConfig;
  readonly snapshot: LeaseSnapshot;
  readonly nodeName: string;
  /** The IPv4 subnet the local state file remembers, if any. */
  readonly previousSubnet?: string;
  /** Uniform in [0, 1). */
  readonly random: () => number;
}

/** The subnets a node gets for position `index` of the range. */
export function subnetPairAt(config: NetworkConfig, index: number): SubnetPair {
  const subnet = subnetAt(config, index);
  const v6 = pairedIpv6Subnet(config, subnet);
  return v6 ? { subnet: formatCidr(subnet), ipv6Subnet: formatCidr(v6) } : { subnet: formatCidr(subnet) };
}

/** The range position of a lease's subnet when the lease fits the config (IPv6 pairing included). */
export function compatibleIndex(config: NetworkConfig, lease: SubnetPair): number | undefined {
  const net = tryParseCidr(lease.subnet);
  const index = net ? subnetIndex(config, net) : undefined;
  if (index === undefined) return undefined;
  return subnetPairAt(config, index).ipv6Subnet === lease.ipv6Subnet ? index : undefined;
}

function heldIndices(config: NetworkConfig, snapshot: LeaseSnapshot): Set<number> {
  const held = new Set<number>();
  const subnets = [...snapshot.leases.map((l) => l.subnet), ...snapshot.invalid.map((e) => subnetFromKey(e.key))];
  for (const subnet of subnets) {
    const net: IpNet | undefined = subnet === undefined ? undefined : tryParseCidr(subnet);
    const index = net ? subnetIndex(config, net) : undefined;
    if (index !== undefined) held.add(index);
  }
  return held;
}

/** The `k`-th position (0-based) of [0, count) that is not in `held`. */
function nthFree(k: number, held: ReadonlySet<number>): number {
  let position = k;
  for (const taken of [...held].sort((a, b) => a - b)) {
    if (taken > position) break;
    position++;
  }
  return position;
}

/** A uniformly random free position, or undefined when the range is full. */
export function pickFreeIndex(count: number, held: ReadonlySet<number>, random: () => number): number | undefined {
  const free = count - held.size;
  if (free <= 0) return undefined;
  return nthFree(Math.min(free - 1, Math.floor(random() * free)), held);
}

function describeLease(lease: Lease): string {
  return `${lease.subnet}${lease.ipv6Subnet ? ` + ${lease.ipv6Subnet}` : ''}${lease.expiresAt === null ? ' (reservation)' : ''}`;
}

export function planAcquisition(input: PlanInput): AcquirePlan {
  const { config, snapshot, nodeName } = input;
  const notes: string[] = [];
  const remove: Lease[] = [];
  const mine = snapshot.leases.filter((l) => l.nodeName === nodeName);
  const usable: Lease[] = [];
  for (const lease of mine) {
    if (compatibleIndex(config, lease) !== undefined) usable.push(lease);
    else if (lease.expiresAt === null) notes.push(`reservation ${describeLease(lease)} for this node does not fit the network config; ignored`);
    else {
      notes.push(`lease ${describeLease(lease)} of this node does not fit the network config; removing it`);
      remove.push(lease);
    }
  }
  if (usable.length > 0) {
    const rank = (l: Lease): number => (l.expiresAt === null ? 0 : l.subnet === input.previousSubnet ? 1 : 2);
    const [best, ...others] = [...usable].sort((a, b) => rank(a) - rank(b));
    if (others.length > 0) {
      notes.push(`this node's name holds ${usable.length} leases (${usable.map(describeLease).join(', ')}); using ${best!.subnet}: is another node running with the same name?`);
    }
    return { action: 'reuse', lease: best!, remove, notes };
  }

  const held = heldIndices(config, { ...snapshot, leases: snapshot.leases.filter((l) => !remove.includes(l)) });
  if (input.previousSubnet !== undefined) {
    const net = tryParseCidr(input.previousSubnet);
    const previous = net ? subnetIndex(config, net) : undefined;
    if (previous === undefined) notes.push(`previous subnet ${input.previousSubnet} does not fit the network config; choosing another`);
    else if (held.has(previous)) notes.push(`previous subnet ${input.previousSubnet} is held by another node; choosing another`);
    else return { action: 'create', subnets: subnetPairAt(config, previous), source: 'previous', remove, notes };
  }

  const free = pickFreeIndex(subnetCount(config), held, input.random);
  if (free === undefined) {
    notes.push(`all ${subnetCount(config)} subnets between ${formatCidr(subnetAt(config, 0))} and ${formatCidr(subnetAt(config, subnetCount(config) - 1))} are taken`);
    return { action: 'exhausted', remove, notes };
  }
  return { action: 'create', subnets: subnetPairAt(config, free), source: 'free', remove, notes };
}
