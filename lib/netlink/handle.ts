// The handle callers use: one per namespace, one method per operation. Changes are shared by the
// handle (sent at once, one round trip each) and by a batch (sent together on commit).
import { closeSync } from 'node:fs';
import { formatIp, type IpAddress, type IpFamily } from '../ip/address.ts';
import { type Address, type AddressSpec, addrDumpRequest, addrRequest, decodeAddress } from './address.ts';
import type { BridgePortOptions } from './bridge-port.ts';
import type { BridgeOptions } from './link-kinds.ts';
import { type BridgeVlan, type BridgeVlanEntry, bridgeVlanDumpRequest, bridgeVlanRequest, decodeBridgeVlans } from './bridge-vlan.ts';
import type { Message } from './codec.ts';
import { type FdbEntry, type FdbSpec, decodeFdb, fdbDumpRequest, fdbRequest } from './fdb.ts';
import {
  type Link,
  type LinkChange,
  type LinkRef,
  type LinkSpec,
  type Resolver,
  decodeLink,
  linkAddRequest,
  linkDelRequest,
  linkDumpRequest,
  linkGetRequest,
  linkSetBridgePortRequest,
  linkSetBridgeRequest,
  linkSetRequest,
} from './link.ts';
import { openNetnsFd } from './namespace.ts';
import { type Neighbour, type NeighbourKey, type NeighbourSpec, decodeNeighbour, neighDelRequest, neighDumpRequest, neighSetRequest } from './neighbour.ts';
import { type Route, type RouteSpec, decodeRoute, mainTable, readRoute, routeDumpRequest, routeGetRequest, routeRequest } from './route.ts';
import { AF_BRIDGE, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE } from './rtnetlink.ts';
import { NetlinkSocket, type Request } from './socket.ts';

/** Builds a request; called when it is about to be sent, with namespace descriptors open. */
type Build = (r: Resolver) => Request;

/** Every change to kernel state, whether sent now (Netlink) or later together (NetlinkBatch). */
abstract class Changes {
  protected abstract change(build: Build): void;

  // Links
  linkAdd(spec: LinkSpec): void {
    this.change((r) => linkAddRequest(spec, r));
  }
  linkDel(link: LinkRef): void {
    this.change(() => linkDelRequest(link));
  }
  /** Several changes to one link in one request. */
  linkSet(link: LinkRef, change: LinkChange): void {
    this.change((r) => linkSetRequest(link, change, r));
  }
  linkSetUp(link: LinkRef): void {
    this.linkSet(link, { up: true });
  }
  linkSetDown(link: LinkRef): void {
    this.linkSet(link, { up: false });
  }
  linkSetMtu(link: LinkRef, mtu: number): void {
    this.linkSet(link, { mtu });
  }
  linkSetMac(link: LinkRef, mac: string): void {
    this.linkSet(link, { mac });
  }
  linkSetMaster(link: LinkRef, master: LinkRef): void {
    this.linkSet(link, { master });
  }
  linkSetNoMaster(link: LinkRef): void {
    this.linkSet(link, { master: null });
  }
  linkSetName(link: LinkRef, name: string): void {
    this.linkSet(link, { name });
  }
  linkSetPromisc(link: LinkRef, on: boolean): void {
    this.linkSet(link, { promisc: on });
  }
  /** Moves the link into the namespace at `nsPath`, optionally renaming it on the way. */
  linkSetNamespace(link: LinkRef, nsPath: string, name?: string): void {
    this.linkSet(link, name === undefined ? { namespace: nsPath } : { namespace: nsPath, name });
  }
  /** Options of an existing bridge (VLAN filtering, STP, ...). */
  linkSetBridge(link: LinkRef, options: BridgeOptions): void {
    this.change(() => linkSetBridgeRequest(link, options));
  }
  /** Options of a bridge port (hairpin, isolated, learning, flooding...). */
  linkSetBridgePort(link: LinkRef, options: BridgePortOptions): void {
    this.change((r) => linkSetBridgePortRequest(link, options, r));
  }

  // Addresses
  addrAdd(spec: AddressSpec): void {
    this.change((r) => addrRequest('add', spec, r));
  }
  addrReplace(spec: AddressSpec): void {
    this.change((r) => addrRequest('replace', spec, r));
  }
  addrDel(spec: Pick<AddressSpec, 'link' | 'address'>): void {
    this.change((r) => addrRequest('delete', spec, r));
  }

  // Routes
  routeAdd(spec: RouteSpec): void {
    this.change((r) => routeRequest('add', spec, r));
  }
  routeReplace(spec: RouteSpec): void {
    this.change((r) => routeRequest('replace', spec, r));
  }
  /** Deletes the route matching what `spec` says (unsaid fields match anything). */
  routeDel(spec: RouteSpec): void {
    this.change((r) => routeRequest('delete', spec, r));
  }

  // Neighbours
  /** Creates or replaces (default: a permanent entry). */
  neighSet(spec: NeighbourSpec): void {
    this.change((r) => neighSetRequest(spec, r));
  }
  neighDel(key: NeighbourKey): void {
    this.change((r) => neighDelRequest(key, r));
  }

  // Forwarding database
  /** Adds a remote to the MAC's entry (the all-zeros MAC: one more VTEP to flood to). */
  fdbAppend(spec: FdbSpec): void {
    this.change((r) => fdbRequest('append', spec, r));
  }
  /** Creates or replaces the MAC's entry. */
  fdbSet(spec: FdbSpec): void {
    this.change((r) => fdbRequest('set', spec, r));
  }
  /** Deletes the entry; with `dst`, only that remote of it. */
  fdbDel(spec: FdbSpec): void {
    this.change((r) => fdbRequest('delete', spec, r));
  }

  // Bridge VLANs
  bridgeVlanAdd(link: LinkRef, vlan: BridgeVlan): void {
    this.change((r) => bridgeVlanRequest('add', link, vlan, r));
  }
  bridgeVlanDel(link: LinkRef, vlan: BridgeVlan): void {
    this.change((r) => bridgeVlanRequest('delete', link, vlan, r));
  }
}

/** Namespace descriptors opened while building requests, closed once they are sent. */
class Resolution implements Resolver {
  private readonly fds = new Map<string, number>();

  constructor(private readonly lookup: (ref: LinkRef) => number) {}

  index(ref: LinkRef): number {
    return this.lookup(ref);
  }

  netnsFd(path: string): number {
    let fd = this.fds.get(path);
    if (fd === undefined) {
      fd = openNetnsFd(path);
      this.fds.set(path, fd);
    }
    return fd;
  }

  /** Builds requests and hands them to `send`, then closes what building opened. */
  run<T>(builds: readonly Build[], send: (requests: Request[]) => T): T {
    try {
      return send(builds.map((build) => build(this)));
    } finally {
      for (const fd of this.fds.values()) closeSync(fd);
      this.fds.clear();
    }
  }
}

export interface LinkFilter {
  readonly link?: LinkRef;
}
export interface FamilyFilter extends LinkFilter {
  readonly family?: IpFamily;
}
export interface RouteFilter extends FamilyFilter {
  /** Default: the main table; 'all' for every table. */
  readonly table?: number | 'all';
}

/** A netlink handle bound to one network namespace. Close it when done (or use `withNetlink`). */
export class Netlink extends Changes {
  private constructor(private readonly socket: NetlinkSocket) {
    super();
  }

  /** A handle inside the namespace at `nsPath` (`/run/netns/NAME`, `/proc/PID/ns/net`); the caller's own when absent. */
  static open(nsPath?: string): Netlink {
    return new Netlink(NetlinkSocket.open(nsPath));
  }

  /** The namespace path the handle was opened in; undefined for the caller's own. */
  get namespace(): string | undefined {
    return this.socket.namespace;
  }

  close(): void {
    this.socket.close();
  }

  /** A batch of changes, sent together by `commit()`. */
  batch(): NetlinkBatch {
    return new NetlinkBatch(this.socket, (ref) => this.linkIndex(ref));
  }

  protected change(build: Build): void {
    new Resolution((ref) => this.linkIndex(ref)).run([build], ([request]) => this.socket.request(request!));
  }

  // Reads
  linkIndex(link: LinkRef): number {
    return typeof link === 'number' ? link : this.linkByName(link).index;
  }
  /** Throws NetlinkError (kind `notFound`) when there is no such link. */
  linkByName(name: string): Link {
    return this.linkGet(name);
  }
  linkByIndex(index: number): Link {
    return this.linkGet(index);
  }
  linkList(): Link[] {
    return this.dump(linkDumpRequest(), RTM_NEWLINK).map((m) => decodeLink(m.body));
  }

  addrList(filter: FamilyFilter = {}): Address[] {
    const link = this.optionalIndex(filter.link);
    return this.dump(addrDumpRequest(filter.family), RTM_NEWADDR)
      .map((m) => decodeAddress(m.body))
      .filter((a): a is Address => a !== undefined && (link === undefined || a.link === link));
  }

  routeList(filter: RouteFilter = {}): Route[] {
    const link = this.optionalIndex(filter.link);
    const table = filter.table ?? mainTable;
    return this.dump(routeDumpRequest(filter.family), RTM_NEWROUTE)
      .map((m) => decodeRoute(m.body))
      .filter((r): r is Route => r !== undefined && (table === 'all' || r.table === table) && (link === undefined || r.link === link));
  }

  /** The route the kernel would use for a packet to `dst` (`ip route get`), policy routing included. */
  routeGet(dst: IpAddress): Route {
    const [answer] = this.dump(routeGetRequest(dst), RTM_NEWROUTE);
    // No route is an error from the kernel (ENETUNREACH, EHOSTUNREACH), thrown by the request.
    if (!answer) throw new Error(`the kernel answered the route lookup for ${formatIp(dst)} with no route`);
    return readRoute(answer.body);
  }

  neighList(filter: FamilyFilter = {}): Neighbour[] {
    const link = this.optionalIndex(filter.link);
    return this.dump(neighDumpRequest(filter.family), RTM_NEWNEIGH)
      .map((m) => decodeNeighbour(m.body))
      .filter((n): n is Neighbour => n !== undefined && (link === undefined || n.link === link));
  }

  fdbList(filter: LinkFilter = {}): FdbEntry[] {
    const link = this.optionalIndex(filter.link);
    return this.dump(fdbDumpRequest(), RTM_NEWNEIGH)
      .map((m) => decodeFdb(m.body))
      .filter((e): e is FdbEntry => e !== undefined && (link === undefined || e.link === link));
  }

  bridgeVlanList(filter: LinkFilter = {}): BridgeVlanEntry[] {
    const link = this.optionalIndex(filter.link);
    return this.dump(bridgeVlanDumpRequest(), RTM_NEWLINK)
      .filter((m) => m.body[0] === AF_BRIDGE)
      .flatMap((m) => decodeBridgeVlans(m.body))
      .filter((v) => link === undefined || v.link === link);
  }

  private linkGet(ref: LinkRef): Link {
    const request = linkGetRequest(ref);
    const [reply] = this.dump(request, RTM_NEWLINK);
    if (!reply) throw new Error(`${this.socket.describe(request.operation())}: the kernel sent no link`);
    return decodeLink(reply.body);
  }

  private dump(request: Request, type: number): Message[] {
    return this.socket.request(request).filter((m) => m.type === type);
  }

  private optionalIndex(link: LinkRef | undefined): number | undefined {
    return link === undefined ? undefined : this.linkIndex(link);
  }
}

/**
 * Changes queued and sent together on one socket without a round trip each. Not a transaction:
 * the kernel applies each request on its own, in order, and a failure does not stop the rest.
 * Requests are built at commit, before any is sent: a link named in an address, route, neighbour,
 * fdb, VLAN or master must exist by then (link changes and deletions by name need not).
 */
export class NetlinkBatch extends Changes {
  private builds: Build[] = [];

  constructor(
    private readonly socket: NetlinkSocket,
    private readonly linkIndex: (ref: LinkRef) => number,
  ) {
    super();
  }

  get size(): number {
    return this.builds.length;
  }

  protected change(build: Build): void {
    this.builds.push(build);
  }

  /** Sends everything queued; throws NetlinkBatchError listing each failed request by position. */
  commit(): void {
    const builds = this.builds;
    this.builds = [];
    new Resolution(this.linkIndex).run(builds, (requests) => this.socket.batch(requests));
  }
}

/** Runs `fn` with a handle in the namespace at `nsPath`, closing it afterwards (also for async `fn`). */
export function withNetlink<T>(nsPath: string | undefined, fn: (nl: Netlink) => T): T {
  const nl = Netlink.open(nsPath);
  let result: T;
  try {
    result = fn(nl);
  } catch (err) {
    nl.close();
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => nl.close()) as T;
  nl.close();
  return result;
}
