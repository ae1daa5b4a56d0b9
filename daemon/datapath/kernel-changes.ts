// Which kernel changes the data path must answer with a run: changes to what it programmed (its device,
// that device's addresses, neighbours and FDB entries it owns, routes of its protocol) and to the underlay
// interface it encapsulates over. Everything else on the host (containers' veths, other software's routes,
// the kernel's own neighbour churn) is none of its business and costs no run.
import { ipEquals } from '../../lib/ip/address.ts';
import type { KernelChange } from '../../lib/netlink/index.ts';
import type { DesiredDataPath } from './desired-state.ts';
import { weftRouteProtocol } from './plan.ts';

export interface WatchedState {
  /** What the last run programmed; before the first run, only the device's name is known. */
  readonly desired: DesiredDataPath | undefined;
  readonly deviceName: string;
  /** The device's ifindex as of the last run. */
  readonly deviceIndex: number | undefined;
  readonly underlayIndex: number;
}

export function concernsDataPath(change: KernelChange, state: WatchedState): boolean {
  const onDevice = (link: number) => link === state.deviceIndex;
  switch (change.kind) {
    case 'link':
      return change.link.name === state.deviceName || onDevice(change.link.index) || change.link.index === state.underlayIndex;
    case 'address':
      return onDevice(change.address.link) || change.address.link === state.underlayIndex;
    case 'route':
      return change.route.protocol === weftRouteProtocol;
    case 'neighbour': {
      const { neighbour } = change;
      return onDevice(neighbour.link) && (state.desired?.neighbours.some((n) => ipEquals(n.ip, neighbour.ip)) ?? true);
    }
    case 'fdb': {
      const { entry } = change;
      return onDevice(entry.link) && (state.desired?.fdb.some((f) => f.mac.toLowerCase() === entry.mac.toLowerCase()) ?? true);
    }
  }
}
