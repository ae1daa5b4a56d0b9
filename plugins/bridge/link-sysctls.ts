// Per-interface sysctls the bridge plugin sets as the reference does, in the namespace that holds the link.
// A missing key means the kernel has no IPv6 (or the link is gone): those settings then have nothing to do.
import { isNetlinkError, sysctlGet, sysctlSet } from '../../lib/netlink/index.ts';

/** Sets `key` (slash form: interface names may hold dots) unless the kernel does not have it. */
export function setSysctlIfPresent(nsPath: string | undefined, key: string, value: string | number): void {
  try {
    sysctlSet(nsPath, key, value);
  } catch (err) {
    if (!isNetlinkError(err, 'notFound')) throw err;
  }
}

/** The plugin owns the routes of its links: router advertisements must not add any. */
export function ignoreRouterAdvertisements(nsPath: string | undefined, ifName: string): void {
  setSysctlIfPresent(nsPath, `net/ipv6/conf/${ifName}/accept_ra`, 0);
}

/** Writes `1` only when the value is not already 1 (writing IPv6 forwarding resets other settings). */
export function turnOn(nsPath: string | undefined, key: string): void {
  if (sysctlGet(nsPath, key).trim() !== '1') sysctlSet(nsPath, key, 1);
}
