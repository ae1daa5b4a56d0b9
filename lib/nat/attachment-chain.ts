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
import { CniError } from '../cni/errors.ts';
import type { GcAttachment } from '../cni/types.ts';
import { nftApply, nftList, type NftOptions } from './nft.ts';
import { nftComment, tableName, tableRef, type TableFamily } from './ruleset.ts';
import { sha256Hex } from './sha256.ts';

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

/** The per-attachment chains of one kind (masquerade, spoof check): naming, scripts, and running them. */
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

  private ref(name: string): string {
    return `${tableRef(this.kind.family)} ${name}`;
  }

  // Deleting a missing chain fails and nft 1.0.6 has no `destroy`. Declaring the chain first in the same
  // transaction, without a hook (a no-op on the existing base chain, a plain chain otherwise), makes the
  // delete exact and idempotent at once, and needs no device or priority.
  private deleteLines(name: string): string[] {
    return [`add chain ${this.ref(name)}`, `delete chain ${this.ref(name)}`];
  }

  private script(lines: readonly string[]): string {
    return [`add table ${tableRef(this.kind.family)}`, ...lines].join('\n') + '\n';
  }

  /**
   * Script that makes the attachment's chain exactly `hook` (a base chain declaration such as
   * `type nat hook postrouting priority srcnat;`) holding `rules`.
   */
  replaceScript(key: AttachmentKey, hook: string, rules: readonly string[]): string {
    const chain = this.ref(this.name(key));
    const comment = nftComment(`weft ${this.kind.purpose}; net: ${key.network}, if: ${key.ifName}, id: ${key.containerId}`);
    return this.script([`add chain ${chain} { ${hook} ${comment}; }`, `flush chain ${chain}`, ...rules.map((r) => `add rule ${chain} ${r}`)]);
  }

  deleteScript(key: AttachmentKey): string {
    return this.script(this.deleteLines(this.name(key)));
  }

  async replace(key: AttachmentKey, hook: string, rules: readonly string[], options: NftOptions = {}): Promise<void> {
    try {
      await nftApply(this.replaceScript(key, hook, rules), options);
    } catch (err) {
      // E2BIG from the hook registration is the kernel's cap on base chains per hook, not a bad script.
      if (err instanceof CniError && err.details?.includes('Argument list too long')) {
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

  /** Removes the attachment's chain; succeeds when there is none. Needs nothing but the key, lists nothing. */
  delete(key: AttachmentKey, options: NftOptions = {}): Promise<void> {
    return nftApply(this.deleteScript(key), options);
  }

  /** The chains of `network` that belong to no attachment in `valid`, among the listed chain names. */
  stale(network: string, valid: readonly GcAttachment[], chainNames: readonly string[]): string[] {
    const prefix = this.networkPrefix(network);
    const keep = new Set(valid.map((a) => this.name({ network, containerId: a.containerID, ifName: a.ifname })));
    return chainNames.filter((name) => name.startsWith(prefix) && !keep.has(name));
  }

  /** Removes the chains of `network`'s attachments absent from `valid` (CNI GC); returns their names. GC is rare, so it lists. */
  async gc(network: string, valid: readonly GcAttachment[], options: NftOptions = {}): Promise<string[]> {
    const { chains } = await nftList(['chains', this.kind.family], options);
    const ours = chains.filter((c) => c.family === this.kind.family && c.table === tableName).map((c) => c.name);
    const stale = this.stale(network, valid, ours);
    if (stale.length > 0) {
      // A concurrent DEL may remove some of them first; the idempotent delete makes that harmless.
      await nftApply(this.script(stale.flatMap((name) => this.deleteLines(name))), options);
    }
    return stale;
  }
}
