// The host-local IPAM plugin as a table of verbs for the skeleton. main.ts runs it as an executable;
// the bridge plugin can run it in-process through the same skeleton core (lib/cni/skel.ts).
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { definePlugin, type VerbContext } from '../../lib/cni/skel.ts';
import { CURRENT_VERSION } from '../../lib/cni/version.ts';
import type { Result } from '../../lib/cni/types.ts';
import { formatIp, ipEquals } from '../../lib/ip/address.ts';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { allocateAll, firstFullRangeSet } from './allocator.ts';
import { cniArgsIps, parseHostLocalConf, type HostLocalConf } from './config.ts';
import { DiskStore, storeWriteProblem } from './disk-store.ts';
import { addressInRange } from './range.ts';
import { formatRangeSet, rangeSetContains } from './range-set.ts';
import { readResolvConf } from './resolv-conf.ts';
import { staleAllocations, withLock, type Owner } from './store.ts';

type Context = VerbContext<HostLocalConf>;

function ownerOf({ args }: Context): Owner {
  return { containerId: args.containerId, ifname: args.ifName };
}

/** Runs `body` on the network's store under its lock; `missing` is returned when the store does not exist. */
function onStore<T>(ctx: Context, create: boolean, missing: T, body: (store: DiskStore) => T): T {
  const store = DiskStore.open(ctx.conf.hostLocal.dataDir, ctx.conf.name, { create });
  if (!store) return missing;
  try {
    return withLock(store, () => body(store));
  } finally {
    store.close();
  }
}

function add(ctx: Context): Result {
  const { hostLocal } = ctx.conf;
  const requested = [...cniArgsIps(ctx.args.args), ...hostLocal.requestedIps];
  // Everything that can fail without the store is done before anything is reserved.
  const dns = hostLocal.resolvConf ? readResolvConf(hostLocal.resolvConf) : undefined;
  const allocations = onStore(ctx, true, [], (store) => allocateAll(store, hostLocal.ranges, ownerOf(ctx), requested));
  const result: Result = {
    cniVersion: CURRENT_VERSION,
    ips: allocations.map(({ ip, range }) => ({ address: addressInRange(range, ip), gateway: formatIp(range.gateway) })),
  };
  if (hostLocal.routes.length > 0) result.routes = hostLocal.routes;
  if (dns) result.dns = dns;
  return result;
}

function del(ctx: Context): void {
  onStore(ctx, false, undefined, (store) => {
    store.reclaimLeftovers();
    store.releaseById(ownerOf(ctx));
  });
}

function check(ctx: Context): void {
  const owner = ownerOf(ctx);
  const held = onStore(ctx, false, [], (store) => store.getById(owner));
  if (held.length === 0) {
    throw new CniError(ErrorCode.UnknownContainer, `host-local: Failed to find address added by container ${owner.containerId}`);
  }
  // Every address of ours the ADD result reported must still be held by this attachment.
  for (const { address } of ctx.conf.prevResult?.ips ?? []) {
    const ip = parseCidr(address).address;
    const ours = ctx.conf.hostLocal.ranges.some((set) => rangeSetContains(set, ip));
    if (ours && !held.some((other) => ipEquals(other, ip))) {
      throw new CniError(ErrorCode.UnknownContainer, `host-local: ${formatIp(ip)} is not allocated to container ${owner.containerId}`);
    }
  }
}

function gc(ctx: Context): void {
  const valid = ctx.conf.validAttachments;
  // Without the list every allocation would look stale: refuse rather than empty the store.
  if (!valid) throw new CniError(ErrorCode.InvalidNetworkConfig, 'GC needs "cni.dev/valid-attachments"');
  const failures = onStore(ctx, false, [], (store) => {
    const problems: string[] = [];
    store.reclaimLeftovers();
    const owners = valid.map((attachment) => ({ containerId: attachment.containerID, ifname: attachment.ifname }));
    for (const stale of staleAllocations(store.allocations(), owners)) {
      try {
        store.release(stale.ip);
        ctx.log(`host-local: released ${formatIp(stale.ip)} held by ${stale.containerId} ${stale.ifname ?? ''}`.trimEnd());
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    return problems;
  });
  if (failures.length > 0) throw new CniError(ErrorCode.IoFailure, 'failed to release stale allocations', failures.join('; '));
}

function status(ctx: Context): void {
  const { hostLocal, name } = ctx.conf;
  const problem = storeWriteProblem(hostLocal.dataDir, name);
  if (problem) throw new CniError(ErrorCode.PluginNotAvailable, 'host-local: the store cannot be written', problem);
  const reserved = onStore(ctx, false, [], (store) => store.reservedIps());
  const full = firstFullRangeSet(hostLocal.ranges, reserved);
  if (full >= 0) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `host-local: no IP addresses available in range set ${full}`,
      formatRangeSet(hostLocal.ranges[full]!),
    );
  }
}

export const hostLocalPlugin = definePlugin<HostLocalConf>({
  about: 'weft host-local IPAM',
  parseConfig: parseHostLocalConf,
  verbs: { add, del, check, gc, status },
});
