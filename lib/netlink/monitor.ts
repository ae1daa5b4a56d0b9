// What changes in a namespace's links, addresses, routes, neighbours and FDB, as the kernel announces it
// (`ip monitor`): a netlink socket of its own joins rtnetlink's multicast groups, and the addon reads it
// whenever the event loop finds it readable. Announcements can be lost when the reader falls behind
// (the socket's buffer overflows) or cannot be read; `onLost` then says to look at everything again.
import { closeSync } from 'node:fs';
import { decodeAddress, type Address } from './address.ts';
import { nativeNetlink, type NativeWatch } from './addon.ts';
import { splitMessages, type Message } from './codec.ts';
import { decodeFdb, type FdbEntry } from './fdb.ts';
import { decodeLink, type Link } from './link.ts';
import { decodeNeighbour, type Neighbour } from './neighbour.ts';
import { decodeRoute, type Route } from './route.ts';
import {
  AF_BRIDGE, RTM_DELADDR, RTM_DELLINK, RTM_DELNEIGH, RTM_DELROUTE, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE,
} from './rtnetlink.ts';
import { NetlinkError } from './errors.ts';
import { openNetlinkFd } from './socket.ts';

export type KernelChange =
  | { readonly kind: 'link'; readonly removed: boolean; readonly link: Link }
  | { readonly kind: 'address'; readonly removed: boolean; readonly address: Address }
  | { readonly kind: 'route'; readonly removed: boolean; readonly route: Route }
  | { readonly kind: 'neighbour'; readonly removed: boolean; readonly neighbour: Neighbour }
  | { readonly kind: 'fdb'; readonly removed: boolean; readonly entry: FdbEntry };

export type ChangeKind = KernelChange['kind'];

// rtnetlink multicast groups (RTNLGRP_* in linux/rtnetlink.h). Neighbours and FDB entries share one.
const groups: Record<ChangeKind, readonly number[]> = {
  link: [1],
  neighbour: [3],
  fdb: [3],
  address: [5, 9],
  route: [7, 11],
};

const ENOBUFS = 105;

export interface ChangeHandlers {
  /** Changes of the kinds asked for, in the kernel's order; called from the event loop. */
  onChanges(changes: readonly KernelChange[]): void;
  /** Changes went unseen (the reason says why): what was watched must be looked at whole. */
  onLost(reason: string): void;
}

function decodeChange(m: Message): KernelChange | undefined {
  switch (m.type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return { kind: 'link', removed: m.type === RTM_DELLINK, link: decodeLink(m.body) };
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      const address = decodeAddress(m.body);
      return address && { kind: 'address', removed: m.type === RTM_DELADDR, address };
    }
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
      const route = decodeRoute(m.body);
      return route && { kind: 'route', removed: m.type === RTM_DELROUTE, route };
    }
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: {
      const removed = m.type === RTM_DELNEIGH;
      if (m.body[0] === AF_BRIDGE) {
        const entry = decodeFdb(m.body);
        return entry && { kind: 'fdb', removed, entry };
      }
      const neighbour = decodeNeighbour(m.body);
      return neighbour && { kind: 'neighbour', removed, neighbour };
    }
    default:
      return undefined;
  }
}

/** Decodes a run of notifications, keeping the kinds in `wanted`. */
function decodeChanges(data: Buffer, wanted: ReadonlySet<ChangeKind>): KernelChange[] {
  return splitMessages(data).flatMap((m) => {
    const change = decodeChange(m);
    return change && wanted.has(change.kind) ? [change] : [];
  });
}

export class KernelWatch {
  private constructor(private fd: number, private handle: NativeWatch | undefined) {}

  /**
   * Watches the namespace at `nsPath` (the caller's own when undefined) for changes of `kinds`. The watch
   * does not keep the process alive by itself.
   */
  static open(nsPath: string | undefined, kinds: readonly ChangeKind[], handlers: ChangeHandlers): KernelWatch {
    const fd = openNetlinkFd(nsPath, 'route');
    const wanted = new Set(kinds);
    const deliver = (data: Buffer | number) => {
      if (typeof data === 'number') {
        handlers.onLost(-data === ENOBUFS ? 'the kernel dropped notifications (receive buffer full)' : `reading notifications failed: errno ${-data}`);
        return;
      }
      let changes: KernelChange[];
      try {
        changes = decodeChanges(data, wanted);
      } catch (err) {
        handlers.onLost(`a notification could not be decoded: ${(err as Error).message}`);
        return;
      }
      if (changes.length > 0) handlers.onChanges(changes);
    };
    const handle = nativeNetlink().watch(fd, [...new Set(kinds.flatMap((k) => groups[k]))], deliver);
    if (typeof handle === 'number') {
      closeSync(fd);
      throw new NetlinkError(nsPath === undefined ? 'watch kernel changes' : `watch kernel changes in ${nsPath}`, -handle);
    }
    return new KernelWatch(fd, handle);
  }

  close(): void {
    if (this.handle === undefined) return;
    nativeNetlink().unwatch(this.handle);
    this.handle = undefined;
    closeSync(this.fd);
    this.fd = -1;
  }
}
