// The incremental data path's two halves (pure): what the kernel holds of weft's routes, neighbours and
// forwarding entries, kept current without reading it again, and the plan for only the entries a change
// touched.
//
// At 5,000 peers a full run reads three tables of 5,000 entries and plans over all of them: ~0.1 s per
// lease change, and the notifications of its own changes started a second one. Instead the view is seeded
// by each full run (what it read, plus what it changed) and follows the kernel's notifications, weft's own
// changes included; a lease change plans only the keys whose desired entries differ (planEntries over
// those keys alone), and a notification costs a run only when it leaves its key unlike the desired state
// (someone else's change). Full runs stay the single source of truth: at start, on the timer, when the
// device or the underlay changes, and when notifications were lost (ENOBUFS).
import { ipEquals, type IpAddress } from '../../lib/ip/address.ts';
import { maskedNet, type IpNet } from '../../lib/ip/cidr.ts';
import { mainTable, type FdbEntry, type KernelChange, type Neighbour, type Route } from '../../lib/netlink/index.ts';
import type { DesiredDataPath, DesiredFdb, DesiredNeighbour, DesiredRoute } from './desired-state.ts';
import { planEntries, weftRouteProtocol, type DataPathStep, type LinkIndexes, type ObservedEntries } from './plan.ts';

const ipKey = (ip: IpAddress): string => `${ip.family}:${ip.value}`;
const netKey = (net: IpNet): string => `${ipKey(maskedNet(net).address)}/${net.prefix}`;
const macKey = (mac: string): string => mac.toLowerCase();

/** The entries a change concerns, by key: routes by destination, neighbours by address, FDB entries by MAC. */
export interface EntryKeys {
  readonly routes: ReadonlySet<string>;
  readonly neighbours: ReadonlySet<string>;
  readonly fdb: ReadonlySet<string>;
}

/** A desired state looked up by key. */
export interface DesiredIndex {
  readonly desired: DesiredDataPath;
  readonly routes: ReadonlyMap<string, DesiredRoute>;
  readonly neighbours: ReadonlyMap<string, DesiredNeighbour>;
  readonly fdb: ReadonlyMap<string, DesiredFdb>;
}

export function indexDesired(desired: DesiredDataPath): DesiredIndex {
  return {
    desired,
    routes: new Map(desired.routes.map((r) => [netKey(r.dst), r])),
    neighbours: new Map(desired.neighbours.map((n) => [ipKey(n.ip), n])),
    fdb: new Map(desired.fdb.map((f) => [macKey(f.mac), f])),
  };
}

const sameDesiredRoute = (a: DesiredRoute, b: DesiredRoute) => a.via === b.via && a.onlink === b.onlink && ipEquals(a.gw, b.gw);
const sameDesiredNeighbour = (a: DesiredNeighbour, b: DesiredNeighbour) => a.mac === b.mac;
const sameDesiredFdb = (a: DesiredFdb, b: DesiredFdb) => ipEquals(a.dst, b.dst);

function changedKeys<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>, same: (a: T, b: T) => boolean): Set<string> {
  const keys = new Set<string>();
  for (const [key, entry] of after) {
    const old = before.get(key);
    if (!old || !same(old, entry)) keys.add(key);
  }
  for (const key of before.keys()) if (!after.has(key)) keys.add(key);
  return keys;
}

/** The keys whose desired entries differ between two desired states (what a lease change touches). */
export function touchedKeys(before: DesiredIndex, after: DesiredIndex): EntryKeys {
  return {
    routes: changedKeys(before.routes, after.routes, sameDesiredRoute),
    neighbours: changedKeys(before.neighbours, after.neighbours, sameDesiredNeighbour),
    fdb: changedKeys(before.fdb, after.fdb, sameDesiredFdb),
  };
}

export function mergeKeys(all: readonly EntryKeys[]): EntryKeys {
  return {
    routes: new Set(all.flatMap((k) => [...k.routes])),
    neighbours: new Set(all.flatMap((k) => [...k.neighbours])),
    fdb: new Set(all.flatMap((k) => [...k.fdb])),
  };
}

export function noKeys(keys: EntryKeys): boolean {
  return keys.routes.size === 0 && keys.neighbours.size === 0 && keys.fdb.size === 0;
}

/** The keys one notification is about, or undefined when it is not about an entry the view follows. */
export function keysOfChange(change: KernelChange, deviceIndex: number): EntryKeys | undefined {
  const none = new Set<string>();
  switch (change.kind) {
    case 'route':
      if (change.route.protocol !== weftRouteProtocol || change.route.table !== mainTable) return undefined;
      return { routes: new Set([netKey(change.route.dst)]), neighbours: none, fdb: none };
    case 'neighbour':
      if (change.neighbour.link !== deviceIndex) return undefined;
      return { routes: none, neighbours: new Set([ipKey(change.neighbour.ip)]), fdb: none };
    case 'fdb':
      if (change.entry.link !== deviceIndex) return undefined;
      return { routes: none, neighbours: none, fdb: new Set([macKey(change.entry.mac)]) };
    default:
      return undefined;
  }
}

/** The values of `map` under the `wanted` keys that it has. */
function pick<T>(map: ReadonlyMap<string, T>, wanted: ReadonlySet<string>): T[] {
  return [...wanted].flatMap((k) => (map.has(k) ? [map.get(k)!] : []));
}

const sameRouteSlot = (a: Route, b: { table: number; metric?: number }) => a.table === b.table && (a.metric ?? 0) === (b.metric ?? 0);

export class KernelView {
  private routes = new Map<string, Route[]>();
  private neighbours = new Map<string, Neighbour>();
  private fdb = new Map<string, FdbEntry[]>();

  constructor(private deviceIndex: number) {}

  /** Starts over from a full run's reading of the kernel and the changes it then made. */
  reset(observed: ObservedEntries, deviceIndex: number, steps: readonly DataPathStep[]): void {
    this.deviceIndex = deviceIndex;
    this.routes = new Map();
    this.neighbours = new Map();
    this.fdb = new Map();
    for (const route of observed.routes) this.putRoute(route);
    for (const n of observed.neighbours) this.neighbours.set(ipKey(n.ip), n);
    for (const e of observed.fdb) this.putFdb(e);
    this.applySteps(steps);
  }

  /** Follows a kernel notification; returns the keys it was about (undefined when none the view keeps). */
  apply(change: KernelChange): EntryKeys | undefined {
    const keys = keysOfChange(change, this.deviceIndex);
    if (!keys) return undefined;
    switch (change.kind) {
      case 'route':
        if (change.removed) this.removeRoute(change.route.dst, change.route);
        else this.putRoute(change.route);
        break;
      case 'neighbour':
        if (change.removed) this.neighbours.delete(ipKey(change.neighbour.ip));
        else this.neighbours.set(ipKey(change.neighbour.ip), change.neighbour);
        break;
      case 'fdb':
        if (change.removed) this.removeFdb(change.entry.mac, change.entry.dst);
        else this.putFdb(change.entry);
        break;
      default:
        break;
    }
    return keys;
  }

  /** Records changes weft sent, as the kernel will hold them (its notifications confirm them later). */
  applySteps(steps: readonly DataPathStep[]): void {
    for (const step of steps) {
      switch (step.op) {
        case 'routeReplace': {
          const { spec } = step;
          // The kernel's defaults: IPv4 routes without a metric, IPv6 ones at 1024.
          this.putRoute({
            dst: maskedNet(spec.dst), ...(spec.gw && { gw: spec.gw }), link: spec.link as number, onlink: spec.onlink ?? false,
            ...(spec.dst.address.family === 6 && { metric: 1024 }), table: mainTable, scope: 'universe', protocol: weftRouteProtocol, type: 'unicast',
          });
          break;
        }
        case 'routeDel':
          this.removeRoute(step.spec.dst, { table: step.spec.table ?? mainTable, ...(step.spec.metric !== undefined && { metric: step.spec.metric }) });
          break;
        case 'neighSet':
          this.neighbours.set(ipKey(step.spec.ip), {
            link: this.deviceIndex, ip: step.spec.ip, mac: step.spec.mac, state: 'permanent', router: false, externallyLearned: false,
          });
          break;
        case 'neighDel':
          this.neighbours.delete(ipKey(step.spec.ip));
          break;
        case 'fdbSet':
          this.putFdb({
            link: this.deviceIndex, mac: step.spec.mac, dst: step.spec.dst as IpAddress, self: true, master: false, state: 'permanent', externallyLearned: false,
          });
          break;
        case 'fdbDel':
          this.removeFdb(step.spec.mac, step.spec.dst as IpAddress | undefined);
          break;
        default:
          // Addresses change only in full runs, which read them.
          break;
      }
    }
  }

  /** What the view holds under `keys`, as planEntries reads the kernel (no addresses). */
  entries(keys: EntryKeys): ObservedEntries {
    return {
      addresses: [],
      routes: pick(this.routes, keys.routes).flat(),
      neighbours: pick(this.neighbours, keys.neighbours),
      fdb: pick(this.fdb, keys.fdb).flat(),
    };
  }

  /** Everything the view holds (tests compare it with the kernel). */
  all(): ObservedEntries {
    return {
      addresses: [],
      routes: [...this.routes.values()].flat(),
      neighbours: [...this.neighbours.values()],
      fdb: [...this.fdb.values()].flat(),
    };
  }

  private putRoute(route: Route): void {
    if (route.protocol !== weftRouteProtocol || route.table !== mainTable) return;
    const key = netKey(route.dst);
    const others = (this.routes.get(key) ?? []).filter((r) => !sameRouteSlot(r, route));
    this.routes.set(key, [...others, route]);
  }

  private removeRoute(dst: IpNet, slot: { table: number; metric?: number }): void {
    const key = netKey(dst);
    const left = (this.routes.get(key) ?? []).filter((r) => !sameRouteSlot(r, slot));
    if (left.length === 0) this.routes.delete(key);
    else this.routes.set(key, left);
  }

  /**
   * A VXLAN forwarding entry set with replace (as weft sets them) takes the place of the MAC's entry; a
   * notification does not say whether it replaced or appended, so the view keeps one remote per MAC
   * (weft never appends; anything else is put right by the next full run).
   */
  private putFdb(entry: FdbEntry): void {
    if (!entry.self || !entry.dst) return;
    const key = macKey(entry.mac);
    const list = this.fdb.get(key) ?? [];
    const at = list.findIndex((e) => e.dst !== undefined && ipEquals(e.dst, entry.dst!));
    this.fdb.set(key, at >= 0 ? list.map((e, i) => (i === at ? entry : e)) : [entry]);
  }

  private removeFdb(mac: string, dst: IpAddress | undefined): void {
    const key = macKey(mac);
    const left = (this.fdb.get(key) ?? []).filter((e) => dst !== undefined && e.dst !== undefined && !ipEquals(e.dst, dst));
    if (left.length === 0) this.fdb.delete(key);
    else this.fdb.set(key, left);
  }
}

/** The changes that bring the entries under `keys` to the desired state, planned against the view alone. */
export function planKeys(index: DesiredIndex, view: KernelView, keys: EntryKeys, links: LinkIndexes): DataPathStep[] {
  const desired: DesiredDataPath = {
    ...index.desired,
    addresses: [],
    routes: pick(index.routes, keys.routes),
    neighbours: pick(index.neighbours, keys.neighbours),
    fdb: pick(index.fdb, keys.fdb),
  };
  return planEntries(desired, view.entries(keys), links);
}
