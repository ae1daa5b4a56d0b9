// The allocation store behind the allocator: the disk store (the reference layout) in the plugin, an
// in-memory one in tests. Every method but lock/close expects the caller to hold the lock.
import type { IpAddress } from '../../lib/ip/address.ts';

/** Who holds an allocation: the attachment (CNI_CONTAINERID, CNI_IFNAME). */
export interface Owner {
  containerId: string;
  ifname: string;
}

/** One stored allocation. `ifname` is absent in files written by plugins older than the ifname format. */
export interface StoredAllocation {
  ip: IpAddress;
  containerId: string;
  ifname?: string;
}

export interface Store {
  /** Blocks until this process holds the store's exclusive lock. */
  lock(): void;
  unlock(): void;
  /** Releases the lock (if held) and any open handles. */
  close(): void;
  /** Records `ip` for `owner` and remembers it as range set `rangeId`'s last reserved address. False if taken. */
  reserve(owner: Owner, ip: IpAddress, rangeId: number): boolean;
  /** The address `reserve` last recorded for range set `rangeId`, if it is known and readable. */
  lastReservedIp(rangeId: number): IpAddress | undefined;
  /** Addresses held by `owner`, including old-format allocations of the same container. */
  getById(owner: Owner): IpAddress[];
  /**
   * Releases every address held by `owner`; when there is none, those old-format allocations of the
   * same container hold (the reference's rule). Allocations without an owner go too. Returns the released
   * addresses.
   */
  releaseById(owner: Owner): IpAddress[];
  /** Releases one address whoever holds it; nothing when it is free. */
  release(ip: IpAddress): void;
  /** Every allocation with its holder as its text reads (GC). */
  allocations(): StoredAllocation[];
  /** Every reserved address, without reading holders (STATUS). */
  reservedIps(): IpAddress[];
  /** Removes what a process killed inside `reserve` left besides allocations without an owner (DEL and GC). */
  reclaimLeftovers(): void;
}

/** The text an allocation holds for its owner: "<containerID>\r\n<ifname>". */
export function ownerText(owner: Owner): string {
  return `${owner.containerId.trim()}\r\n${owner.ifname}`;
}

/** Names (addresses as text) of the allocations an owner holds, split by format. */
export interface HeldNames {
  /** "<containerID>\r\n<ifname>" */
  current: string[];
  /** "<containerID>" alone, written by plugins before the ifname format. */
  old: string[];
  /**
   * Empty: a process killed between creating the file and writing its owner left it (the reference's
   * reserve, or an older weft's). Under the lock no reserve is under way, and no owner will ever match it.
   */
  ownerless: string[];
}

/** The reference's matching rule, applied to (name, text) pairs: trimmed text equal to the owner's. */
export function namesHeldBy(entries: Iterable<readonly [name: string, text: string]>, owner: Owner): HeldNames {
  const current = ownerText(owner);
  const old = owner.containerId.trim();
  const held: HeldNames = { current: [], old: [], ownerless: [] };
  for (const [name, text] of entries) {
    const trimmed = text.trim();
    if (trimmed === current) held.current.push(name);
    else if (trimmed === old) held.old.push(name);
    else if (trimmed === '') held.ownerless.push(name);
  }
  return held;
}

/**
 * What releaseById removes: the owner's allocations, or failing those, its container's old-format ones;
 * and any without an owner.
 */
export function namesToRelease(held: HeldNames): string[] {
  return [...(held.current.length > 0 ? held.current : held.old), ...held.ownerless];
}

/** Reads the trimmed text of an allocation file. */
export function parseOwnerText(text: string): { containerId: string; ifname?: string } {
  const trimmed = text.trim();
  const separator = trimmed.indexOf('\r\n');
  if (separator < 0) return { containerId: trimmed };
  return { containerId: trimmed.slice(0, separator), ifname: trimmed.slice(separator + 2) };
}

/**
 * GC's rule: allocations whose holder is not among the valid attachments. An old-format allocation
 * (container ID only) stays while any attachment of that container is valid.
 */
export function staleAllocations(allocations: readonly StoredAllocation[], valid: readonly Owner[]): StoredAllocation[] {
  const validTexts = new Set(valid.map(ownerText));
  const validContainers = new Set(valid.map((owner) => owner.containerId.trim()));
  return allocations.filter((allocation) => allocation.ifname === undefined
    ? !validContainers.has(allocation.containerId)
    : !validTexts.has(ownerText({ containerId: allocation.containerId, ifname: allocation.ifname })));
}

/** Runs `body` holding the store's lock. */
export function withLock<T>(store: Store, body: () => T): T {
  store.lock();
  try {
    return body();
  } finally {
    store.unlock();
  }
}
