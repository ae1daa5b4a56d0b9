// Brings the kernel to the desired data path: read what is there, plan the difference (plan.ts), apply it.
// The same function runs at start-up (adding what is missing, removing peers that left while the daemon
// was down), on every lease change, and on a timer (a deleted device is recreated on the next run).
// Idempotent: a second run right after the first changes nothing.
//
// The device comes first, alone (changes in a batch must name links that exist); then every address,
// route, neighbour and forwarding change goes in one netlink batch, addressed by ifindex so that a
// thousand peers cost no name lookups. A batch is not a transaction: a refused change is reported and
// tried again on the next run, the others stay applied.
import type { IpFamily } from '../../lib/ip/address.ts';
import { isNetlinkError, mainTable, NetlinkBatchError, sysctlGet, sysctlSet, type Link, type Netlink, type NetlinkBatch } from '../../lib/netlink/index.ts';
import type { Underlay } from '../underlay.ts';
import type { DesiredDataPath, UnderlayState } from './desired-state.ts';
import { describeStep, planDevice, planEntries, weftRouteProtocol, type DataPathStep, type ObservedEntries } from './plan.ts';

export interface ReconcileOutcome {
  readonly device: 'kept' | 'changed' | 'created' | 'recreated';
  /** Why the device was recreated. */
  readonly deviceReason?: string;
  readonly deviceIndex: number;
  /** Every change sent, in order. */
  readonly steps: readonly DataPathStep[];
  /** The changes the kernel refused, described with its reason; retried on the next run. */
  readonly failures: readonly string[];
  /** What the kernel held before the steps (a full run's reading; the kernel view starts from it). */
  readonly observed?: ObservedEntries;
}

/** The underlay interface as the kernel has it now (its MTU and addresses may have changed). */
export function readUnderlayState(nl: Netlink, underlay: Underlay): UnderlayState {
  const link = nl.linkByIndex(underlay.index);
  const addresses = nl.addrList({ link: underlay.index })
    .filter((a) => a.scope === 'universe')
    .map((a) => a.address);
  return { ...underlay, name: link.name, mtu: link.mtu, addresses };
}

function findLink(nl: Netlink, name: string): Link | undefined {
  try {
    return nl.linkByName(name);
  } catch (err) {
    if (isNetlinkError(err, 'notFound')) return undefined;
    throw err;
  }
}

export function observeEntries(nl: Netlink, deviceIndex: number): ObservedEntries {
  return {
    addresses: nl.addrList({ link: deviceIndex }),
    routes: nl.routeList({ table: mainTable }).filter((r) => r.protocol === weftRouteProtocol),
    neighbours: nl.neighList({ link: deviceIndex }),
    fdb: nl.fdbList({ link: deviceIndex }),
  };
}

function queue(batch: NetlinkBatch, step: DataPathStep): void {
  switch (step.op) {
    case 'addrAdd': return batch.addrAdd(step.spec);
    case 'addrDel': return batch.addrDel(step.spec);
    case 'routeReplace': return batch.routeReplace(step.spec);
    case 'routeDel': return batch.routeDel(step.spec);
    case 'neighSet': return batch.neighSet(step.spec);
    case 'neighDel': return batch.neighDel(step.spec);
    case 'fdbSet': return batch.fdbSet(step.spec);
    case 'fdbDel': return batch.fdbDel(step.spec);
  }
}

/** Sends the steps in one batch; returns the refused ones, described. */
export function applySteps(nl: Netlink, steps: readonly DataPathStep[]): string[] {
  if (steps.length === 0) return [];
  const batch = nl.batch();
  for (const step of steps) queue(batch, step);
  try {
    batch.commit();
    return [];
  } catch (err) {
    if (!(err instanceof NetlinkBatchError)) throw err;
    return err.failures
      // A deletion of something already gone is done.
      .filter((f) => !(f.error.kind === 'notFound' && steps[f.index]!.op.endsWith('Del')))
      .map((f) => `${describeStep(steps[f.index]!)}: ${f.error.message}`);
  }
}

/** Creates, recreates or adjusts the device; returns what was done and its ifindex. */
function reconcileDevice(nl: Netlink, desired: DesiredDataPath): Pick<ReconcileOutcome, 'device' | 'deviceReason' | 'deviceIndex'> {
  const plan = planDevice(desired.device, findLink(nl, desired.device.name));
  switch (plan.action) {
    case 'keep':
      if (plan.change) nl.linkSet(plan.index, plan.change);
      return { device: plan.change ? 'changed' : 'kept', deviceIndex: plan.index };
    case 'create':
      nl.linkAdd(plan.spec);
      return { device: 'created', deviceIndex: nl.linkIndex(plan.spec.name) };
    case 'recreate':
      nl.linkDel(plan.index);
      nl.linkAdd(plan.spec);
      return { device: 'recreated', deviceReason: plan.reason, deviceIndex: nl.linkIndex(plan.spec.name) };
  }
}

export function reconcileKernel(nl: Netlink, desired: DesiredDataPath): ReconcileOutcome {
  const device = reconcileDevice(nl, desired);
  const observed = observeEntries(nl, device.deviceIndex);
  const steps = planEntries(desired, observed, { device: device.deviceIndex, underlay: desired.device.underlayIndex });
  const failures = applySteps(nl, steps);
  return { ...device, steps, failures, observed };
}

const forwardingKeys: Record<IpFamily, string> = { 4: 'net/ipv4/ip_forward', 6: 'net/ipv6/conf/all/forwarding' };

/**
 * Turns on forwarding for the overlay's families: without it the node drops every packet between its
 * containers and the VXLAN device. (For IPv6 this also makes the host ignore router advertisements on
 * interfaces with accept_ra=1, as any router does; dual-stack hosts configure their underlay statically.)
 * Returns the keys it had to change.
 */
export function ensureForwarding(nl: Netlink, families: readonly IpFamily[]): string[] {
  const changed: string[] = [];
  for (const family of families) {
    const key = forwardingKeys[family];
    if (sysctlGet(nl.namespace, key) === '1') continue;
    sysctlSet(nl.namespace, key, 1);
    changed.push(key);
  }
  return changed;
}
