// Which kernel changes the data path must answer with a run: changes to what it programmed (its device,
// that device's addresses, neighbours and FDB entries it owns, routes of its protocol) and to the underlay
// interface it encapsulates over. Everything else on the host (containers' veths, other software's routes,
// the kernel's own neighbour churn) is none of its business and costs no run. Nor does a change that leaves
// the device, its addresses or the underlay's MTU as the last run made them (the kernel announces a new
// device's carrier and operational state about a second after it is made; weft's own address changes).
import { ipEquals } from '../../lib/ip/address.ts';
import { netContains, parseCidr } from '../../lib/ip/cidr.ts';
import type { KernelChange } from '../../lib/netlink/index.ts';
import type { DesiredDataPath } from './desired-state.ts';
import { planDevice, weftRouteProtocol } from './plan.ts';

const linkLocal = parseCidr('fe80::/10');

export interface WatchedState {
  /** What the last run programmed; before the first run, only the device's name is known. */
  readonly desired: DesiredDataPath | undefined;
  readonly deviceName: string;
  /** The device's ifindex as of the last run. */
  readonly deviceIndex: number | undefined;
  readonly underlayIndex: number;
  /** The underlay's MTU as of the last run (the device's follows it). */
  readonly underlayMtu?: number;
}

export function concernsDataPath(change: KernelChange, state: WatchedState): boolean {
  const onDevice = (link: number) => link === state.deviceIndex;
  switch (change.kind) {
    case 'link': {
      const { link } = change;
      if (link.name === state.deviceName || onDevice(link.index)) {
        if (change.removed || !state.desired) return true;
        const plan = planDevice(state.desired.device, link);
        return plan.action !== 'keep' || plan.change !== undefined || link.index !== state.deviceIndex;
      }
      return link.index === state.underlayIndex && (change.removed || link.mtu !== state.underlayMtu);
    }
    case 'address': {
      const { address } = change;
      // The underlay's link-local addresses (IPv6 sets one up a second or two after the link) carry nothing.
      if (address.link === state.underlayIndex) return address.scope === 'universe';
      if (!onDevice(address.link)) return false;
      if (!state.desired) return true;
      if (netContains(linkLocal, address.address.address)) return false;
      const wanted = state.desired.addresses.some((a) => a.prefix === address.address.prefix && ipEquals(a.address, address.address.address));
      return change.removed === wanted;
    }
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
