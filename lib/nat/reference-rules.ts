// What the reference bridge plugin leaves in nf_tables for an attachment, so that weft's DEL can remove it
// as the reference's own DEL would: a node that swapped in weft while containers were running gets DELs for
// attachments the reference made.
//
// - Masquerade (containernetworking/plugins' ip.SetupIPMasq, through the iptables tool, which on current
//   distributions writes nf_tables): a chain `CNI-<hash>` in table `nat` of family ip and ip6, and a rule
//   in that table's POSTROUTING jumping to it, both with the comment `name: "<network>" id: "<container>"`
//   (an iptables comment match). Rules written by iptables-legacy are outside nf_tables, out of reach here.
// - MAC spoof check (its link.SpoofChecker, nftables directly): in table `bridge nat`, a rule in PREROUTING
//   jumping to chain `cni-br-iface-<container>-<ifname>`, which jumps to `…-mac`, each rule commented
//   `macspoofchk-<container>-<ifname>`.
import { nftAddChain, nftDeleteChain, nftDeleteRule, nftFlushChain, type NftFamily } from '../netlink/nftables.ts';
import type { Request } from '../netlink/socket.ts';
import type { AttachmentKey } from './attachment-chain.ts';
import { listRulesOfChains, type NftChainRef, type NftTarget } from './nftables.ts';

interface ReferenceKinds {
  readonly masquerade: boolean;
  readonly spoofCheck: boolean;
}

const masqueradeHooks: readonly NftChainRef[] = [
  { family: 'ip', table: 'nat', chain: 'POSTROUTING' },
  { family: 'ip6', table: 'nat', chain: 'POSTROUTING' },
];
const spoofCheckHook: NftChainRef = { family: 'bridge', table: 'nat', chain: 'PREROUTING' };

/** The reference's comment on an attachment's masquerade rules (its utils.FormatComment). */
function referenceComment(key: Pick<AttachmentKey, 'network' | 'containerId'>): string {
  return `name: "${key.network}" id: "${key.containerId}"`;
}

/** Flushes and deletes `chains` in order (a chain that jumps to a later one first). */
function dropChains(family: NftFamily, table: string, chains: readonly string[]): Request[] {
  return chains.flatMap((chain) => [nftFlushChain(family, table, chain), nftDeleteChain(family, table, chain)]);
}

/** The changes that remove what the reference left for the attachment, if anything (one listing). */
export function referenceRuleChanges(key: AttachmentKey, kinds: ReferenceKinds, target: NftTarget = {}): Request[] {
  const hooks = [...(kinds.masquerade ? masqueradeHooks : []), ...(kinds.spoofCheck ? [spoofCheckHook] : [])];
  if (hooks.length === 0) return [];
  const listed = listRulesOfChains(hooks, target);
  const masqueradeComment = referenceComment(key);
  const spoofComment = `macspoofchk-${key.containerId}-${key.ifName}`;
  return hooks.flatMap((hook, i) => {
    const { family, table, chain } = hook;
    const spoof = hook === spoofCheckHook;
    const rules = listed[i]!.filter((r) => (spoof ? r.comment === spoofComment : r.xtComment === masqueradeComment && r.jumpTo?.startsWith('CNI-')));
    const targets = [...new Set(rules.flatMap((r) => (r.jumpTo === undefined ? [] : [r.jumpTo])))];
    return [
      ...rules.map((r) => nftDeleteRule(family, table, chain, r.handle)),
      // The spoof check's second chain is declared first (a no-op when it exists), so a version of the
      // reference without it does not fail the transaction.
      ...targets.flatMap((t) => (spoof ? [nftAddChain(family, table, `${t}-mac`), ...dropChains(family, table, [t, `${t}-mac`])] : dropChains(family, table, [t]))),
    ];
  });
}
