// Masquerade for containers on a bridge network (the bridge plugin's `ipMasq`): traffic from a container
// address to anything outside that address's subnet, multicast excepted, leaves with the host's address.
// Each attachment's rules live in a chain of their own (attachment-chain.ts), so ADD replaces and DEL
// removes exactly one container's entries, IPv4 and IPv6 alike, in one transaction each.
import type { GcAttachment } from '../cni/types.ts';
import type { IpNet } from '../ip/cidr.ts';
import { parseCidr } from '../ip/cidr.ts';
import type { NftBaseChain, NftExpr } from '../netlink/nftables.ts';
import { AttachmentChains, type AttachmentKey } from './attachment-chain.ts';
import type { NftTarget } from './nftables.ts';
import { matchFamily, matchPrefix, multicastCidr } from './ruleset.ts';

export const masqueradeChains = new AttachmentChains({ family: 'inet', prefix: 'masq', purpose: 'masquerade' });

// srcnat: the priority nft names so, where iptables' POSTROUTING nat runs too.
const hook: NftBaseChain = { type: 'nat', hook: 'postrouting', priority: 100 };

export interface ContainerMasquerade extends AttachmentKey {
  /** The container's addresses with their prefix length (the subnet left unmasqueraded), e.g. `10.1.0.5/24`. */
  readonly addresses: readonly IpNet[];
}

/** Per address: `ip saddr <address> ip daddr != <its subnet> ip daddr != <multicast> masquerade`. */
export function containerMasqueradeRules(addresses: readonly IpNet[]): NftExpr[][] {
  return addresses.map((addr) => {
    const { family } = addr.address;
    return [
      ...matchFamily(family),
      ...matchPrefix('saddr', { address: addr.address, prefix: family === 4 ? 32 : 128 }),
      ...matchPrefix('daddr', addr, 'neq'),
      ...matchPrefix('daddr', parseCidr(multicastCidr(family)), 'neq'),
      { masq: {} },
    ];
  });
}

/** Makes the attachment's masquerade exactly `addresses` (ADD, and ADD again for the same attachment). */
export function addContainerMasquerade(masq: ContainerMasquerade, target: NftTarget = {}): void {
  if (masq.addresses.length === 0) return masqueradeChains.delete(masq, target);
  masqueradeChains.replace(masq, hook, containerMasqueradeRules(masq.addresses), target);
}

/** Removes the attachment's masquerade; succeeds when there is none. Needs no addresses and lists nothing. */
export function delContainerMasquerade(key: AttachmentKey, target: NftTarget = {}): void {
  masqueradeChains.delete(key, target);
}

/** Removes the masquerade of `network`'s attachments absent from `valid` (CNI GC); returns the chains removed. */
export function gcContainerMasquerade(network: string, valid: readonly GcAttachment[], target: NftTarget = {}): string[] {
  return masqueradeChains.gc(network, valid, target);
}
