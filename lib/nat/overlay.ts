// The overlay daemon's rules (weftd): masquerade for traffic leaving the overlay network (when asked: the
// network's `ipMasq`), and forwarding of overlay traffic through a host whose firewall drops forwarded packets
// by default (always: without it the overlay does not work on such a host, whatever the masquerade setting).
//
// Masquerade: a nat chain `overlay-postrouting` in `inet weft`: source in the overlay and destination in the
// overlay → untouched (containers and nodes of the overlay see each other's real addresses); destination
// multicast → untouched; any other destination → masquerade, with fully random ports as flannel does, so that
// many containers' connections to one server do not race for the same source port.
//
// Forwarding: in nftables an `accept` ends only the chain that says it; the packet still runs through every
// other base chain on the hook, and a drop policy there drops it. A chain of weft's own accepting overlay
// traffic therefore changes nothing (checked on this kernel). What works — and what flannel and Docker do
// with iptables — is a rule in the chain that holds the drop policy. So weft appends two commented accept
// rules (overlay as source, overlay as destination) to every forward filter chain whose policy is drop,
// after the host's own rules so that an explicit drop by the administrator still wins, and finds them again
// by their comment. Chains in iptables-legacy are invisible to nft and out of reach.
import { formatIp, type IpFamily } from '../ip/address.ts';
import { maskedNet, parseCidr, type IpNet } from '../ip/cidr.ts';
import { nftApplyJson, nftList, type NftChain, type NftListing, type NftOptions } from './nft.ts';
import { addressKeyword, multicastCidr, nftPrefix, tableName } from './ruleset.ts';

export interface OverlayRules {
  /** The overlay network of each address family in use, e.g. `10.244.0.0/16`; at most one per family. */
  readonly networks: readonly IpNet[];
  /** Whether traffic from the overlay to the outside is masqueraded; forwarding is accepted either way. */
  readonly masquerade: boolean;
}

export const overlayChainName = 'overlay-postrouting';
const commentPrefix = 'weft overlay: ';

type Expr = Record<string, unknown>;

function prefixMatch(field: 'saddr' | 'daddr', net: IpNet): Expr {
  const masked = maskedNet(net);
  return {
    match: {
      op: '==',
      left: { payload: { protocol: addressKeyword(net.address.family), field } },
      right: { prefix: { addr: formatIp(masked.address), len: masked.prefix } },
    },
  };
}

/** The masquerade chain's rules, as nft JSON expression lists. */
export function overlayMasqueradeRules(networks: readonly IpNet[]): Expr[][] {
  return networks.flatMap((net) => [
    [prefixMatch('saddr', net), prefixMatch('daddr', net), { return: null }],
    [prefixMatch('saddr', net), prefixMatch('daddr', parseCidr(multicastCidr(net.address.family))), { return: null }],
    [prefixMatch('saddr', net), { masquerade: { flags: 'fully-random' } }],
  ]);
}

interface ForwardAccept {
  readonly family: IpFamily;
  readonly comment: string;
  readonly expr: Expr[];
}

function forwardAccepts(networks: readonly IpNet[]): ForwardAccept[] {
  return networks.flatMap((net) => {
    const cidr = nftPrefix(net);
    return [
      { family: net.address.family, comment: `${commentPrefix}accept from ${cidr}`, expr: [prefixMatch('saddr', net), { accept: null }] },
      { family: net.address.family, comment: `${commentPrefix}accept to ${cidr}`, expr: [prefixMatch('daddr', net), { accept: null }] },
    ];
  });
}

const familiesOfTable: Record<string, readonly IpFamily[]> = { ip: [4], ip6: [6], inet: [4, 6] };

function isForwardFilter(chain: NftChain): boolean {
  return chain.hook === 'forward' && chain.type === 'filter' && chain.family in familiesOfTable;
}

/** Where a rule goes, in nft JSON's terms. */
function ruleLocation(chain: { family: string; table: string; name: string }): { family: string; table: string; chain: string } {
  return { family: chain.family, table: chain.table, chain: chain.name };
}

/**
 * The JSON commands that bring the host's forward chains to the desired accept rules: ours appended where
 * the policy is drop and missing, ours deleted (by handle) where stale, duplicated, or no longer needed.
 */
export function planForwardAccept(listing: NftListing, networks: readonly IpNet[]): object[] {
  const accepts = forwardAccepts(networks);
  const commands: object[] = [];
  for (const chain of listing.chains.filter(isForwardFilter)) {
    const families = familiesOfTable[chain.family]!;
    const wanted = chain.policy === 'drop' ? accepts.filter((a) => families.includes(a.family)) : [];
    const present = new Set<string>();
    for (const rule of listing.rules) {
      if (rule.family !== chain.family || rule.table !== chain.table || rule.chain !== chain.name) continue;
      if (!rule.comment?.startsWith(commentPrefix)) continue;
      if (wanted.some((a) => a.comment === rule.comment) && !present.has(rule.comment)) present.add(rule.comment);
      else commands.push({ delete: { rule: { ...ruleLocation(chain), handle: rule.handle } } });
    }
    for (const accept of wanted.filter((a) => !present.has(a.comment))) {
      commands.push({ add: { rule: { ...ruleLocation(chain), comment: accept.comment, expr: accept.expr } } });
    }
  }
  return commands;
}

function validateNetworks(networks: readonly IpNet[]): void {
  for (const family of [4, 6] as const) {
    if (networks.filter((n) => n.address.family === family).length > 1) {
      throw new TypeError(`overlay rules take at most one IPv${family} network`);
    }
  }
}

/** The whole desired state in one transaction: the masquerade chain (or its absence) and the forward accepts. */
export function overlayCommands(listing: NftListing, rules: OverlayRules): object[] {
  const { networks } = rules;
  validateNetworks(networks);
  const table = { family: 'inet', name: tableName };
  const chain = { family: 'inet', table: tableName, name: overlayChainName };
  // srcnat is priority 100. As for attachment chains, declaring before deleting makes the delete idempotent.
  const declare = { add: { chain: { ...chain, type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } } };
  const masquerade =
    networks.length === 0 || !rules.masquerade
      ? [declare, { delete: { chain } }]
      : [
          declare,
          { flush: { chain } },
          ...overlayMasqueradeRules(networks).map((expr) => ({ add: { rule: { ...ruleLocation(chain), expr } } })),
        ];
  return [{ add: { table } }, ...masquerade, ...planForwardAccept(listing, networks)];
}

/**
 * Makes the host's nftables state match `rules` (start-up and whenever the overlay networks or the host's
 * firewall may have changed): idempotent, one listing and one transaction. Should the host's firewall
 * change between the two, the transaction fails whole (code 103) and a second call reconciles.
 */
export async function setOverlayRules(rules: OverlayRules, options: NftOptions = {}): Promise<void> {
  validateNetworks(rules.networks);
  const listing = await nftList(['ruleset'], options);
  await nftApplyJson(overlayCommands(listing, rules), options);
}

/** Removes the overlay masquerade chain and every forward accept rule weft added. */
export function clearOverlayRules(options: NftOptions = {}): Promise<void> {
  return setOverlayRules({ networks: [], masquerade: false }, options);
}
