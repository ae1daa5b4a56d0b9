// One base chain per container attachment (network + container ID + interface), named by a hash of that
// key. DEL must remove exactly one attachment's rules even when its addresses and host interface are
// unknown (the namespace is gone), in one transaction and without listing: nftables deletes chains by
// name only, while set and map elements need their key (the address) and rules their handle (a listing).
// A chain that nothing references — a base chain, hooked by itself — is the one object both exact and
// addressable from the attachment key alone.
//
// The price: the kernel walks every base chain on a hook (and allows at most 1024 per hook). For nat
// chains that walk happens only for the first packet of a connection; per-frame checks therefore hook on
// the container's own device (netdev ingress), where the walk is one chain long.
//
// The chains are changed over nfnetlink (nftables.ts), each change one transaction: a plugin starts no
// process for it, and nothing is listed except by GC.
import { CniError } from '../cni/errors.ts';
import type { GcAttachment } from '../cni/types.ts';
import {
  nftAddChain, nftAddRule, nftAddTable, nftDeleteChain, nftFlushChain, type NftBaseChain, type NftExpr,
} from '../netlink/nftables.ts';
import type { Request } from '../netlink/socket.ts';
import { applyNftables, kernelRefusal, listChains, type NftTarget } from './nftables.ts';
import { nftComment, tableName, type TableFamily } from './ruleset.ts';
import { sha256Hex } from '../sha256.ts';

export interface AttachmentKey {
  /** The CNI network name. */
  readonly network: string;
  readonly containerId: string;
  /** The interface name inside the container (CNI_IFNAME). */
  readonly ifName: string;
}

export interface AttachmentChainKind {
  readonly family: TableFamily;
  /** Name prefix, e.g. `masq`; GC finds a network's chains by it. */
  readonly prefix: string;
  /** What the chain does, for its comment. */
  readonly purpose: string;
}

function hash16(text: string): string {
  return sha256Hex(text).slice(0, 16);
}

/** The per-attachment chains of one kind (masquerade, spoof check): naming, changes, and applying them. */
export class AttachmentChains {
  constructor(readonly kind: AttachmentChainKind) {}

  private networkPrefix(network: string): string {
    return `${this.kind.prefix}-${hash16(network)}-`;
  }

  name(key: AttachmentKey): string {
    // NUL cannot occur in an interface name or a container ID (both pass through the environment),
    // so the joined key is unambiguous.
    return `${this.networkPrefix(key.network)}${hash16(`${key.ifName}\0${key.containerId}`)}`;
  }

  // Deleting a missing chain fails, and `destroy` (which would not) needs kernel 6.3. Declaring the chain
  // first in the same transaction, without a hook (a no-op on the existing base chain, a plain chain
  // otherwise), makes the delete exact and idempotent at once, and needs no device or priority.
  private deleteChainChanges(name: string): Request[] {
    const { family } = this.kind;
    return [nftAddChain(family, tableName, name), nftDeleteChain(family, tableName, name)];
  }

  /** Changes that make the attachment's chain exactly `base` (how it is hooked) holding `rules`. */
  replaceChanges(key: AttachmentKey, base: NftBaseChain, rules: readonly NftExpr[][]): Request[] {
    const { family } = this.kind;
    const name = this.name(key);
    const comment = nftComment(`weft ${this.kind.purpose}; net: ${key.network}, if: ${key.ifName}, id: ${key.containerId}`);
    return [
      nftAddTable(family, tableName),
      nftAddChain(family, tableName, name, base, comment),
      nftFlushChain(family, tableName, name),
      ...rules.map((rule) => nftAddRule(family, tableName, name, rule)),
    ];
  }

  /** Changes that remove the attachment's chain, or nothing if there is none. Need only the key. */
  deleteChanges(key: AttachmentKey): Request[] {
    return [nftAddTable(this.kind.family, tableName), ...this.deleteChainChanges(this.name(key))];
  }

  replace(key: AttachmentKey, base: NftBaseChain, rules: readonly NftExpr[][], target: NftTarget = {}): void {
    try {
      applyNftables(this.replaceChanges(key, base, rules), target);
    } catch (err) {
      // E2BIG from the hook registration is the kernel's cap on base chains per hook, not a bad rule.
      if (err instanceof CniError && kernelRefusal(err)?.code === 'E2BIG') {
        throw new CniError(
          err.code,
          `too many ${this.kind.purpose} chains: the kernel allows at most 1024 chains on one hook`,
          err.details,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Removes the attachment's chain; succeeds when there is none. Lists nothing. */
  delete(key: AttachmentKey, target: NftTarget = {}): void {
    applyNftables(this.deleteChanges(key), target);
  }

  /** The chains of `network` that belong to no attachment in `valid`, among the listed chain names. */
  stale(network: string, valid: readonly GcAttachment[], chainNames: readonly string[]): string[] {
    const prefix = this.networkPrefix(network);
    const keep = new Set(valid.map((a) => this.name({ network, containerId: a.containerID, ifName: a.ifname })));
    return chainNames.filter((name) => name.startsWith(prefix) && !keep.has(name));
  }

  /** Removes the chains of `network`'s attachments absent from `valid` (CNI GC); returns their names. GC is rare, so it lists. */
  gc(network: string, valid: readonly GcAttachment[], target: NftTarget = {}): string[] {
    const { family } = this.kind;
    const listed = listChains(family, target);
    const stale = this.stale(network, valid, listed.filter((c) => c.table === tableName).map((c) => c.name));
    // A concurrent DEL may remove some of them first; the idempotent delete makes that harmless.
    if (stale.length > 0) applyNftables([nftAddTable(family, tableName), ...stale.flatMap((name) => this.deleteChainChanges(name))], target);
    return stale;
  }
}
