// One container's nftables entries on a bridge network: its masquerade (ipMasq) and its MAC spoof check
// (macspoofchk). Both are keyed by the attachment (lib/nat), so DEL needs neither the addresses nor the
// veth. ADD installs each as soon as what it needs is known (plugin.ts); removal deletes both in one
// transaction, so one nft process.
import type { GcAttachment } from '../../lib/cni/types.ts';
import type { AttachmentKey } from '../../lib/nat/attachment-chain.ts';
import { gcContainerMasquerade, masqueradeChains } from '../../lib/nat/masquerade.ts';
import { nftApply } from '../../lib/nat/nft.ts';
import { gcMacSpoofCheck, spoofCheckChains } from '../../lib/nat/spoof-check.ts';

/** Which kinds of entries a network's config asks for. */
export interface FirewallKinds {
  readonly masquerade: boolean;
  readonly spoofCheck: boolean;
}

/** Removes the attachment's entries of the given kinds; succeeds when there are none. */
export async function removeFirewall(key: AttachmentKey, kinds: FirewallKinds): Promise<void> {
  const scripts = [kinds.masquerade && masqueradeChains.deleteScript(key), kinds.spoofCheck && spoofCheckChains.deleteScript(key)];
  const script = scripts.filter((s) => s !== false).join('');
  if (script !== '') await nftApply(script);
}

/** GC: removes the entries of the network's attachments that are not in `valid`. */
export async function collectFirewall(network: string, valid: readonly GcAttachment[], kinds: FirewallKinds, log: (line: string) => void): Promise<void> {
  const removed = await Promise.all([
    kinds.masquerade ? gcContainerMasquerade(network, valid) : [],
    kinds.spoofCheck ? gcMacSpoofCheck(network, valid) : [],
  ]);
  for (const chain of removed.flat()) log(`bridge: removed stale nftables chain ${chain}`);
}
