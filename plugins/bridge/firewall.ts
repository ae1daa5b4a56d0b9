// One container's nftables entries on a bridge network: its masquerade (ipMasq) and its MAC spoof check
// (macspoofchk). Both are keyed by the attachment (lib/nat), so DEL needs neither the addresses nor the
// veth. ADD installs each as soon as what it needs is known (plugin.ts); removal deletes both in one
// transaction.
import type { GcAttachment } from '../../lib/cni/types.ts';
import type { AttachmentKey } from '../../lib/nat/attachment-chain.ts';
import { applyNftables } from '../../lib/nat/nftables.ts';
import { gcContainerMasquerade, masqueradeChains } from '../../lib/nat/masquerade.ts';
import { referenceRuleChanges } from '../../lib/nat/reference-rules.ts';
import { gcMacSpoofCheck, spoofCheckChains } from '../../lib/nat/spoof-check.ts';

/** Which kinds of entries a network's config asks for. */
export interface FirewallKinds {
  readonly masquerade: boolean;
  readonly spoofCheck: boolean;
}

/**
 * Removes the attachment's entries of the given kinds; succeeds when there are none. Also the reference
 * plugin's of the same kinds, for an attachment it made before weft was swapped in (their own transaction:
 * those need a listing, and weft's own must go whatever became of them).
 */
export function removeFirewall(key: AttachmentKey, kinds: FirewallKinds): void {
  applyNftables([
    ...(kinds.masquerade ? masqueradeChains.deleteChanges(key) : []),
    ...(kinds.spoofCheck ? spoofCheckChains.deleteChanges(key) : []),
  ]);
  applyNftables(referenceRuleChanges(key, kinds));
}

/** GC: removes the entries of the network's attachments that are not in `valid`. */
export function collectFirewall(network: string, valid: readonly GcAttachment[], kinds: FirewallKinds, log: (line: string) => void): void {
  const removed = [
    ...(kinds.masquerade ? gcContainerMasquerade(network, valid) : []),
    ...(kinds.spoofCheck ? gcMacSpoofCheck(network, valid) : []),
  ];
  for (const chain of removed) log(`bridge: removed stale nftables chain ${chain}`);
}
