// What the reference bridge plugin leaves for an attachment's masquerade (containernetworking/plugins'
// ip.SetupIPMasq, through the iptables tool, which on current distributions writes nf_tables): a chain
// `CNI-<hash>` in table `nat` of family ip or ip6, and a rule in that table's POSTROUTING that jumps to it,
// both with the comment `name: "<network>" id: "<container>"`. A node that swapped in weft while containers
// were running gets DELs for attachments the reference made; removing these is what the reference's own
// DEL would have done. (Rules written by iptables-legacy are outside nf_tables, out of reach here.)
import { nftDeleteChain, nftDeleteRule, nftFlushChain } from '../netlink/nftables.ts';
import type { Request } from '../netlink/socket.ts';
import type { AttachmentKey } from './attachment-chain.ts';
import { listRulesOfChains, type NftTarget } from './nftables.ts';

const table = 'nat';
const hookChain = 'POSTROUTING';
const families = ['ip', 'ip6'] as const;

/** The reference's comment on an attachment's rules (its utils.FormatComment). */
export function referenceComment(key: Pick<AttachmentKey, 'network' | 'containerId'>): string {
  return `name: "${key.network}" id: "${key.containerId}"`;
}

/** The changes that remove the reference's masquerade of the attachment, if it left any (one listing). */
export function referenceMasqueradeChanges(key: Pick<AttachmentKey, 'network' | 'containerId'>, target: NftTarget = {}): Request[] {
  const comment = referenceComment(key);
  const listed = listRulesOfChains(families.map((family) => ({ family, table, chain: hookChain })), target);
  return families.flatMap((family, i) => {
    const rules = listed[i]!.filter((r) => r.xtComment === comment && r.jumpTo?.startsWith('CNI-'));
    const chains = [...new Set(rules.map((r) => r.jumpTo!))];
    return [
      ...rules.map((r) => nftDeleteRule(family, table, hookChain, r.handle)),
      ...chains.flatMap((chain) => [nftFlushChain(family, table, chain), nftDeleteChain(family, table, chain)]),
    ];
  });
}
