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
import type { IpFamily } from '../ip/address.ts';
import { parseCidr, type IpNet } from '../ip/cidr.ts';
import {
  nftAddChain, nftAddRule, nftAddTable, nftDeleteChain, nftDeleteRule, nftFlushChain,
  type NftBaseChain, type NftChainInfo, type NftExpr, type NftFamily,
} from '../netlink/nftables.ts';
import type { Request } from '../netlink/socket.ts';
import { applyNftables, listRuleset, type NftRuleset, type NftTarget } from './nftables.ts';
import { matchFamily, matchPrefix, multicastCidr, nftPrefix, tableName } from './ruleset.ts';

export interface OverlayRules {
  /** The overlay network of each address family in use, e.g. `10.244.0.0/16`; at most one per family. */
  readonly networks: readonly IpNet[];
  /** Whether traffic from the overlay to the outside is masqueraded; forwarding is accepted either way. */
  readonly masquerade: boolean;
}

export const overlayChainName = 'overlay-postrouting';
const commentPrefix = 'weft overlay: ';
// srcnat, as for the containers' masquerade chains.
const masqueradeHook: NftBaseChain = { type: 'nat', hook: 'postrouting', priority: 100 };

/** The masquerade chain's rules (it lives in the inet table, so each starts with its address family). */
export function overlayMasqueradeRules(networks: readonly IpNet[]): NftExpr[][] {
  return networks.flatMap((net) => {
    const fromOverlay = [...matchFamily(net.address.family), ...matchPrefix('saddr', net)];
    return [
      [...fromOverlay, ...matchPrefix('daddr', net), { verdict: 'return' as const }],
      [...fromOverlay, ...matchPrefix('daddr', parseCidr(multicastCidr(net.address.family))), { verdict: 'return' as const }],
      [...fromOverlay, { masq: { fullyRandom: true } }],
    ];
  });
}

export interface ForwardAccept {
  readonly family: IpFamily;
  readonly comment: string;
  readonly field: 'saddr' | 'daddr';
  readonly net: IpNet;
}

function forwardAccepts(networks: readonly IpNet[]): ForwardAccept[] {
  return networks.flatMap((net) => {
    const cidr = nftPrefix(net);
    const { family } = net.address;
    return [
      { family, comment: `${commentPrefix}accept from ${cidr}`, field: 'saddr' as const, net },
      { family, comment: `${commentPrefix}accept to ${cidr}`, field: 'daddr' as const, net },
    ];
  });
}

/** The accept rule in a chain of `tableFamily`: an inet table's rule checks the address family first, as nft's does. */
export function forwardAcceptRule(tableFamily: NftFamily, accept: ForwardAccept): NftExpr[] {
  return [...(tableFamily === 'inet' ? matchFamily(accept.family) : []), ...matchPrefix(accept.field, accept.net), { verdict: 'accept' }];
}

const familiesOfTable: Partial<Record<NftFamily, readonly IpFamily[]>> = { ip: [4], ip6: [6], inet: [4, 6] };

function isForwardFilter(chain: NftChainInfo): boolean {
  return chain.hook === 'forward' && chain.type === 'filter' && familiesOfTable[chain.family] !== undefined;
}

/** A change to a chain weft does not own: one of its accept rules added, or one removed by handle. */
export type ForwardChange =
  | { readonly add: { readonly chain: NftChainInfo; readonly accept: ForwardAccept } }
  | { readonly delete: { readonly chain: NftChainInfo; readonly handle: bigint } };

/**
 * What brings the host's forward chains to the desired accept rules: ours appended where the policy is
 * drop and missing, ours deleted (by handle) where stale, duplicated, or no longer needed.
 */
export function planForwardAccept(ruleset: NftRuleset, networks: readonly IpNet[]): ForwardChange[] {
  const accepts = forwardAccepts(networks);
  const changes: ForwardChange[] = [];
  for (const chain of ruleset.chains.filter(isForwardFilter)) {
    const families = familiesOfTable[chain.family]!;
    const wanted = chain.policy === 'drop' ? accepts.filter((a) => families.includes(a.family)) : [];
    const present = new Set<string>();
    for (const rule of ruleset.rules) {
      if (rule.family !== chain.family || rule.table !== chain.table || rule.chain !== chain.name) continue;
      if (!rule.comment?.startsWith(commentPrefix)) continue;
      if (wanted.some((a) => a.comment === rule.comment) && !present.has(rule.comment)) present.add(rule.comment);
      else changes.push({ delete: { chain, handle: rule.handle } });
    }
    for (const accept of wanted.filter((a) => !present.has(a.comment))) changes.push({ add: { chain, accept } });
  }
  return changes;
}

function forwardRequest(change: ForwardChange): Request {
  if ('delete' in change) {
    const { chain, handle } = change.delete;
    return nftDeleteRule(chain.family, chain.table, chain.name, handle);
  }
  const { chain, accept } = change.add;
  return nftAddRule(chain.family, chain.table, chain.name, forwardAcceptRule(chain.family, accept), accept.comment);
}

function validateNetworks(networks: readonly IpNet[]): void {
  for (const family of [4, 6] as const) {
    if (networks.filter((n) => n.address.family === family).length > 1) {
      throw new TypeError(`overlay rules take at most one IPv${family} network`);
    }
  }
}

/** The whole desired state as one transaction: the masquerade chain (or its absence) and the forward accepts. */
export function overlayChanges(ruleset: NftRuleset, rules: OverlayRules): Request[] {
  const { networks } = rules;
  validateNetworks(networks);
  // As for attachment chains, declaring before deleting makes the delete idempotent.
  const masquerade =
    networks.length === 0 || !rules.masquerade
      ? [nftAddChain('inet', tableName, overlayChainName), nftDeleteChain('inet', tableName, overlayChainName)]
      : [
          nftAddChain('inet', tableName, overlayChainName, masqueradeHook),
          nftFlushChain('inet', tableName, overlayChainName),
          ...overlayMasqueradeRules(networks).map((rule) => nftAddRule('inet', tableName, overlayChainName, rule)),
        ];
  return [nftAddTable('inet', tableName), ...masquerade, ...planForwardAccept(ruleset, networks).map(forwardRequest)];
}

/**
 * Makes the host's nftables state match `rules` (start-up and whenever the overlay networks or the host's
 * firewall may have changed): idempotent, one listing and one transaction. Should the host's firewall
 * change between the two, the transaction fails whole (code 103) and a second call reconciles.
 */
export function setOverlayRules(rules: OverlayRules, target: NftTarget = {}): void {
  validateNetworks(rules.networks);
  applyNftables(overlayChanges(listRuleset(target), rules), target);
}

/** Removes the overlay masquerade chain and every forward accept rule weft added. */
export function clearOverlayRules(target: NftTarget = {}): void {
  setOverlayRules({ networks: [], masquerade: false }, target);
}
