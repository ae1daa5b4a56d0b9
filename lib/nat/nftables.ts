// Applying and reading nftables in a network namespace, over nfnetlink (lib/netlink/nftables.ts): every
// change of weft's — a container's chains, weftd's overlay rules — is one kernel transaction, all or
// nothing, with no `nft` process. Failures are CniError 103 (firewall) with the kernel's errno and message.
import { CniError, ErrorCode } from '../cni/errors.ts';
import { NetlinkBatchError, NetlinkError } from '../netlink/errors.ts';
import {
  nftListChainRules, nftListChains, nftListRules, nftTransaction, parseChains, parseRules, type NftChainInfo, type NftFamily, type NftRuleInfo,
} from '../netlink/nftables.ts';
import { NetlinkSocket, type Request } from '../netlink/socket.ts';

/** Where nftables is changed. */
export interface NftTarget {
  /** The network namespace (a /run/netns or /proc/PID/ns/net path); the caller's own when absent. */
  readonly netns?: string;
}

export interface NftRuleset {
  readonly chains: NftChainInfo[];
  readonly rules: NftRuleInfo[];
}

/** The kernel's refusal behind a failure of this module (the first one, for a transaction). */
export function kernelRefusal(err: unknown): NetlinkError | undefined {
  const cause = err instanceof CniError ? err.cause : err;
  const first = cause instanceof NetlinkBatchError ? cause.failures[0]?.error : cause;
  return first instanceof NetlinkError ? first : undefined;
}

function withNetfilterSocket<T>(target: NftTarget, what: string, fn: (socket: NetlinkSocket) => T): T {
  let socket: NetlinkSocket | undefined;
  try {
    socket = NetlinkSocket.open(target.netns, 'netfilter');
    return fn(socket);
  } catch (err) {
    const first = kernelRefusal(err);
    if (!first) throw err;
    throw new CniError(ErrorCode.FirewallFailure, `${what} failed`, first.message, { cause: err });
  } finally {
    // Closed on the next turn of the event loop, not now: after a transaction that deleted a chain, closing
    // the socket waits for the kernel to release the chain (an RCU grace period, 10–20 ms). The caller's
    // synchronous work meanwhile (a DEL deletes the veth, itself such a wait) lets that time pass in parallel.
    const open = socket;
    if (open) setImmediate(() => open.close());
  }
}

/** Runs `changes` as one nftables transaction in the target namespace. */
export function applyNftables(changes: readonly Request[], target: NftTarget = {}): void {
  if (changes.length === 0) return;
  withNetfilterSocket(target, 'nftables transaction', (socket) => socket.transaction(nftTransaction(changes)));
}

/** Every chain of `family` in the target namespace. */
export function listChains(family: NftFamily, target: NftTarget = {}): NftChainInfo[] {
  return withNetfilterSocket(target, 'nftables listing', (socket) => parseChains(socket.request(nftListChains(family))));
}

export interface NftChainRef {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
}

/** The rules of each chain in the target namespace (none for a chain or table that does not exist), over one socket. */
export function listRulesOfChains(chains: readonly NftChainRef[], target: NftTarget = {}): NftRuleInfo[][] {
  return withNetfilterSocket(target, 'nftables listing', (socket) => chains.map(({ family, table, chain }) => {
    try {
      return parseRules(socket.request(nftListChainRules(family, table, chain)));
    } catch (err) {
      if (err instanceof NetlinkError && err.kind === 'notFound') return [];
      throw err;
    }
  }));
}

/** Every chain and rule of every family in the target namespace. */
export function listRuleset(target: NftTarget = {}): NftRuleset {
  return withNetfilterSocket(target, 'nftables listing', (socket) => ({
    chains: parseChains(socket.request(nftListChains())),
    rules: parseRules(socket.request(nftListRules())),
  }));
}
