// A Store held in memory: the allocator's tests run against it without a disk. It refuses any change
// made without the lock, so those tests also pin the allocator's locking.
import { formatIp, parseIp, type IpAddress } from '../../../lib/ip/address.ts';
import { namesHeldBy, namesToRelease, ownerText, parseOwnerText, type Owner, type Store, type StoredAllocation } from '../store.ts';

export class MemoryStore implements Store {
  /** Address text → allocation text, as the disk store's files hold them. */
  readonly entries = new Map<string, string>();
  readonly lastReserved = new Map<number, IpAddress>();
  private locked = false;

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [ip, text] of entries) this.entries.set(formatIp(parseIp(ip)), text);
  }

  lock(): void {
    if (this.locked) throw new Error('MemoryStore: lock taken twice');
    this.locked = true;
  }

  unlock(): void {
    this.requireLock();
    this.locked = false;
  }

  close(): void {
    this.locked = false;
  }

  private requireLock(): void {
    if (!this.locked) throw new Error('MemoryStore: used without the lock');
  }

  reserve(owner: Owner, ip: IpAddress, rangeId: number): boolean {
    this.requireLock();
    const name = formatIp(ip);
    if (this.entries.has(name)) return false;
    this.entries.set(name, ownerText(owner));
    this.lastReserved.set(rangeId, ip);
    return true;
  }

  lastReservedIp(rangeId: number): IpAddress | undefined {
    this.requireLock();
    return this.lastReserved.get(rangeId);
  }

  getById(owner: Owner): IpAddress[] {
    this.requireLock();
    const held = namesHeldBy(this.entries, owner);
    return [...held.current, ...held.old].map(parseIp);
  }

  releaseById(owner: Owner): IpAddress[] {
    this.requireLock();
    const names = namesToRelease(namesHeldBy(this.entries, owner));
    for (const name of names) this.entries.delete(name);
    return names.map(parseIp);
  }

  release(ip: IpAddress): void {
    this.requireLock();
    this.entries.delete(formatIp(ip));
  }

  allocations(): StoredAllocation[] {
    this.requireLock();
    return [...this.entries].map(([name, text]) => ({ ip: parseIp(name), ...parseOwnerText(text) }));
  }

  reservedIps(): IpAddress[] {
    this.requireLock();
    return [...this.entries.keys()].map(parseIp);
  }

  /** Nothing: a reserve here cannot be interrupted. */
  reclaimLeftovers(): void {
    this.requireLock();
  }
}
