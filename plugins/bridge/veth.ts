// The veth pair that cables a container to the bridge, and its host end as a bridge port.
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { Result } from '../../lib/cni/types.ts';
import type { AttachmentKey } from '../../lib/nat/attachment-chain.ts';
import { ignoreNotFound, isNetlinkError, type Link, type Netlink, type VethPeer } from '../../lib/netlink/index.ts';
import { sha256Hex } from '../../lib/sha256.ts';
import type { BridgeSettings } from './config.ts';
import { ignoreRouterAdvertisements } from './link-sysctls.ts';
import { randomBytes } from '../../lib/random-bytes.ts';

// A clash with an existing name is retried with a fresh one this often (the reference's count).
const NAME_ATTEMPTS = 10;

/** `veth` and 8 random hex digits, the reference's host-end names (NetworkManager leaves `veth*` alone). */
export function randomVethName(): string {
  return `veth${randomBytes(4).toString('hex')}`;
}

function interfaceTaken(name: string, namespace: string | undefined, details: string, cause?: unknown): CniError {
  const where = namespace ? ` in ${namespace}` : '';
  return new CniError(ErrorCode.KernelFailure, `interface "${name}"${where} already exists`, details, cause === undefined ? undefined : { cause });
}

/**
 * Refuses an ADD whose interface name the container already has, before anything is made: that interface
 * is another attachment's (or the same one's, added twice), and undoing a failed ADD must not touch it.
 */
export function checkInterfaceFree(container: Netlink, name: string, namespace: string): void {
  const existing = ignoreNotFound(() => container.linkByName(name));
  if (existing) throw interfaceTaken(name, namespace, `a ${existing.kind === 'device' ? existing.infoKind ?? 'device' : existing.kind} link has that name`);
}

/**
 * Creates a veth pair: `peer` as given (the container end: its name, namespace, MAC) and a host end in the
 * handle's namespace under a fresh random name, retried when that name is taken. Returns the host end's
 * name. A clash on the peer's name is an error: that interface belongs to someone else.
 */
export function createVethPair(nl: Netlink, peer: VethPeer, mtu?: number): string {
  for (let attempt = 1; ; attempt++) {
    const name = randomVethName();
    try {
      nl.linkAdd({ kind: 'veth', name, ...(mtu !== undefined && { mtu }), peer });
      return name;
    } catch (err) {
      if (!isNetlinkError(err, 'exists')) throw err;
      const hostClash = ignoreNotFound(() => nl.linkByName(name)) !== undefined;
      if (!hostClash) throw interfaceTaken(peer.name, peer.namespace, err.message, err);
      if (attempt === NAME_ATTEMPTS) {
        throw new CniError(ErrorCode.KernelFailure, 'failed to find a free veth name', `${NAME_ATTEMPTS} random names were taken`);
      }
    }
  }
}

/**
 * The host end's alias (IFLA_IFALIAS), naming its attachment by a hash: a DEL that has neither the
 * container's namespace nor a prevResult (containerd 1.6 after refusing a result) finds the host end by it,
 * and a name in a stale prevResult that now belongs to another container is not taken for this one's.
 */
export function vethAlias(key: AttachmentKey): string {
  // NUL cannot occur in any of the three (they pass through the environment): the joined key is unambiguous.
  return `weft ${sha256Hex(`${key.network}\0${key.containerId}\0${key.ifName}`).slice(0, 32)}`;
}

/**
 * Deletes the attachment's host end, found by its alias: first under the names the prevResult gives host
 * interfaces, else among all veths. Done when there is none.
 */
export function deleteHostVeth(nl: Netlink, key: AttachmentKey, prevResult: Result | undefined): void {
  const alias = vethAlias(key);
  const named = (prevResult?.interfaces ?? []).filter((i) => !i.sandbox).map((i) => ignoreNotFound(() => nl.linkByName(i.name)));
  const found = named.find((link) => link?.alias === alias) ?? nl.linkList().find((link) => link.kind === 'veth' && link.alias === alias);
  if (found) ignoreNotFound(() => nl.linkDel(found.index));
}

export type PortSettings = Pick<BridgeSettings, 'hairpinMode' | 'portIsolation' | 'vlan' | 'vlanTrunk' | 'preserveDefaultVlan'>;

/**
 * Makes `port` a bridge port as the reference does: hairpin and isolation as configured, an access VLAN
 * (PVID, untagged) and/or trunk VLANs (tagged; VLAN 1 is then the untagged one unless `vlan` names
 * another), the bridge's default VLAN dropped from a VLAN port unless preserveDefaultVlan, no router
 * advertisements, up.
 */
export function attachPort(nl: Netlink, port: Link, bridgeIndex: number, settings: PortSettings): void {
  nl.linkSetMaster(port.index, bridgeIndex);
  // Both are off on a new port: the request (a slow one in the kernel) is needed only to turn one on.
  if (settings.hairpinMode || settings.portIsolation) {
    nl.linkSetBridgePort(port.index, { hairpin: settings.hairpinMode, isolated: settings.portIsolation });
  }
  const hasVlans = settings.vlan !== 0 || settings.vlanTrunk.length > 0;
  if (hasVlans) {
    const batch = nl.batch();
    if (!settings.preserveDefaultVlan) {
      for (const { vid } of nl.bridgeVlanList({ link: port.index })) batch.bridgeVlanDel(port.index, { vid });
    }
    // In the reference's order: a trunk VLAN that repeats `vlan` ends up tagged, as there.
    if (settings.vlan !== 0) batch.bridgeVlanAdd(port.index, { vid: settings.vlan, pvid: true, untagged: true });
    for (const vid of settings.vlanTrunk) batch.bridgeVlanAdd(port.index, { vid });
    if (settings.vlan === 0) batch.bridgeVlanAdd(port.index, { vid: 1, pvid: true, untagged: true });
    batch.commit();
  }
  ignoreRouterAdvertisements(nl.namespace, port.name);
  nl.linkSetUp(port.index);
}

// Delays between looks at the port, in ms: quick first (a veth is usually up at once), 2.5 s in all, as
// long as the reference waits.
const PORT_WAIT_MS = [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 560];

/**
 * Waits until the bridge port passes traffic: the host end is operationally up (its peer, the container
 * end, is up too). Returning earlier would let the container's first packets vanish.
 */
export async function waitForPort(nl: Netlink, portIndex: number): Promise<void> {
  let state = '';
  for (const delay of PORT_WAIT_MS) {
    if (delay > 0) await new Promise((wake) => setTimeout(wake, delay));
    const link = nl.linkByIndex(portIndex);
    if (link.operState === 'up') return;
    state = link.operState;
  }
  throw new CniError(ErrorCode.KernelFailure, 'bridge port in error state', `operational state "${state}" after 2.5 s`);
}
