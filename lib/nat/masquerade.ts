// Masquerade for containers on a bridge network (the bridge plugin's `ipMasq`): traffic from a container
// address to anything outside that address's subnet, multicast excepted, leaves with the host's address.
// Each attachment's rules live in a chain of their own (attachment-chain.ts), so ADD replaces and DEL
// removes exactly one container's entries, IPv4 and IPv6 alike, in one transaction each.
import type { GcAttachment } from '../cni/types.ts';
import { formatIp } from '../ip/address.ts';
import type { IpNet } from '../ip/cidr.ts';
import { AttachmentChains, type AttachmentKey } from './attachment-chain.ts';
import type { NftOptions } from './nft.ts';
import { addressKeyword, multicastCidr, nftPrefix } from './ruleset.ts';

export const masqueradeChains = new AttachmentChains({ family: 'inet', prefix: 'masq', purpose: 'masquerade' });

const hook = 'type nat hook postrouting priority srcnat;';

export interface ContainerMasquerade extends AttachmentKey {
  /** The container's addresses with their prefix length (the subnet left unmasqueraded), e.g. `10.1.0.5/24`. */
  readonly addresses: readonly IpNet[];
}

export function containerMasqueradeRules(addresses: readonly IpNet[]): string[] {
  return addresses.map((addr) => {
    const ip = addressKeyword(addr.address.family);
    return (
      `${ip} saddr ${formatIp(addr.address)} ${ip} daddr != ${nftPrefix(addr)} ` +
      `${ip} daddr != ${multicastCidr(addr.address.family)} masquerade`
    );
  });
}

/** Makes the attachment's masquerade exactly `addresses` (ADD, and ADD again for the same attachment). */
export function addContainerMasquerade(masq: ContainerMasquerade, options: NftOptions = {}): Promise<void> {
  if (masq.addresses.length === 0) return masqueradeChains.delete(masq, options);
  return masqueradeChains.replace(masq, hook, containerMasqueradeRules(masq.addresses), options);
}

/** Removes the attachment's masquerade; succeeds when there is none. Needs no addresses and lists nothing. */
export function delContainerMasquerade(key: AttachmentKey, options: NftOptions = {}): Promise<void> {
  return masqueradeChains.delete(key, options);
}

/** Removes the masquerade of `network`'s attachments absent from `valid` (CNI GC); returns the chains removed. */
export function gcContainerMasquerade(
  network: string,
  valid: readonly GcAttachment[],
  options: NftOptions = {},
): Promise<string[]> {
  return masqueradeChains.gc(network, valid, options);
}
