// The bridge plugin's `macspoofchk`: frames entering the bridge from a container's host-side veth must carry
// that container's MAC as source, or they are dropped. A bridge-family chain per attachment, hooked at
// prerouting before bridge dnat (priority -300, where the reference hooks it too), so DEL removes exactly
// that attachment's check from its key alone, even after the veth is gone.
import type { GcAttachment } from '../cni/types.ts';
import { CniError, ErrorCode } from '../cni/errors.ts';
import { AttachmentChains, type AttachmentKey } from './attachment-chain.ts';
import type { NftOptions } from './nft.ts';

export const spoofCheckChains = new AttachmentChains({
  family: 'bridge',
  prefix: 'spoof',
  hook: 'type filter hook prerouting priority -300;',
  purpose: 'MAC spoof check',
});

export interface MacSpoofCheck extends AttachmentKey {
  /** The bridge port: the host end of the container's veth. */
  readonly hostIfName: string;
  /** The container interface's MAC, e.g. `02:42:0a:01:00:05`. */
  readonly mac: string;
}

// Interface names go into a quoted nft string, where `*` is a wildcard and `"` cannot be escaped.
const ifNamePattern = /^[A-Za-z0-9_.-]{1,15}$/;
const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function macSpoofCheckRules(hostIfName: string, mac: string): string[] {
  if (!ifNamePattern.test(hostIfName)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid interface name for macspoofchk', JSON.stringify(hostIfName));
  }
  const lower = mac.toLowerCase();
  if (!macPattern.test(lower)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid MAC address for macspoofchk', JSON.stringify(mac));
  }
  return [`iifname "${hostIfName}" ether saddr != ${lower} drop`];
}

export async function addMacSpoofCheck(check: MacSpoofCheck, options: NftOptions = {}): Promise<void> {
  // Rules are built first so that bad input fails before nft runs.
  const rules = macSpoofCheckRules(check.hostIfName, check.mac);
  await spoofCheckChains.replace(check, rules, options);
}

/** Removes the attachment's check; succeeds when there is none. */
export function delMacSpoofCheck(key: AttachmentKey, options: NftOptions = {}): Promise<void> {
  return spoofCheckChains.delete(key, options);
}

/** Removes the checks of `network`'s attachments absent from `valid`; returns the chains removed. */
export function gcMacSpoofCheck(network: string, valid: readonly GcAttachment[], options: NftOptions = {}): Promise<string[]> {
  return spoofCheckChains.gc(network, valid, options);
}
