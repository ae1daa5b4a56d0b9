// One container's nftables entries on a bridge network: its masquerade (ipMasq) and its MAC spoof check
// (macspoofchk). Both are keyed by the attachment (lib/nat), so DEL needs neither the addresses nor the
// veth; when both are on, their two nft transactions run side by side.
import type { GcAttachment } from '../../lib/cni/types.ts';
import type { IpNet } from '../../lib/ip/cidr.ts';
import type { AttachmentKey } from '../../lib/nat/attachment-chain.ts';
import { addContainerMasquerade, delContainerMasquerade, gcContainerMasquerade } from '../../lib/nat/masquerade.ts';
import { addMacSpoofCheck, delMacSpoofCheck, gcMacSpoofCheck } from '../../lib/nat/spoof-check.ts';

export interface AttachmentFirewall {
  /** The container's addresses to masquerade; undefined when ipMasq is off. */
  readonly masquerade?: readonly IpNet[];
  /** The port and the MAC frames from it must carry; undefined when macspoofchk is off. */
  readonly spoofCheck?: { readonly hostIfName: string; readonly mac: string };
}

/** Which kinds of entries a network's config asks for. */
export interface FirewallKinds {
  readonly masquerade: boolean;
  readonly spoofCheck: boolean;
}

/** Waits for all (an undo must not start while one nft still runs), then throws the first failure. */
async function together(work: ReadonlyArray<Promise<unknown> | false | undefined>): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export async function applyFirewall(key: AttachmentKey, wanted: AttachmentFirewall): Promise<void> {
  await together([
    wanted.masquerade && addContainerMasquerade({ ...key, addresses: wanted.masquerade }),
    wanted.spoofCheck && addMacSpoofCheck({ ...key, ...wanted.spoofCheck }),
  ]);
}

/** Removes the attachment's entries of the given kinds; succeeds when there are none. */
export async function removeFirewall(key: AttachmentKey, kinds: FirewallKinds): Promise<void> {
  await together([kinds.masquerade && delContainerMasquerade(key), kinds.spoofCheck && delMacSpoofCheck(key)]);
}

/** GC: removes the entries of the network's attachments that are not in `valid`. */
export async function collectFirewall(network: string, valid: readonly GcAttachment[], kinds: FirewallKinds, log: (line: string) => void): Promise<void> {
  const removed = await Promise.all([
    kinds.masquerade ? gcContainerMasquerade(network, valid) : [],
    kinds.spoofCheck ? gcMacSpoofCheck(network, valid) : [],
  ]);
  for (const chain of removed.flat()) log(`bridge: removed stale nftables chain ${chain}`);
}
