// weft's netlink layer: the kernel's network state (links, addresses, routes, neighbours, bridge
// forwarding and VLANs, sysctls) in any network namespace, over rtnetlink, with typed errors.
//
//   import { Netlink, withNetlink, sysctlSet, ignoreExists } from '../lib/netlink/index.ts';
//
//   const nl = Netlink.open('/run/netns/c1');     // a handle inside that namespace; no path = our own
//   try { nl.linkSetUp('lo'); } finally { nl.close(); }
//   withNetlink(undefined, (nl) => nl.linkAdd({ kind: 'bridge', name: 'weft0', vlanFiltering: true, up: true }));
//
// Handle (Netlink): one method per operation, synchronous (a request costs tens of µs).
//   links      linkAdd(spec)  spec by kind:
//                { kind: 'veth', name, peer: { name, namespace?, mac?, mtu? } }   peer made directly in `namespace`
//                { kind: 'bridge', name, vlanFiltering?, vlanDefaultPvid?, stp?, multicastSnooping? }
//                { kind: 'vxlan', name, vni, local?, group?, underlay?, port?, srcPortRange?, learning?,
//                  ttl?, tos?, udpCsum?, udp6ZeroCsumTx/Rx?, gbp?, ageing?, proxy?, l2miss?, l3miss? }
//                { kind: 'vlan', name, parent, vid, protocol? }                   e.g. the bridge's br0.100
//                and on every kind: mtu?, mac?, txQueueLen?, master?, namespace?, up?, alias?
//              linkByName, linkByIndex, linkList, linkIndex → Link (union on `kind`, 'device' for others)
//              linkSetUp/Down, linkSetMtu, linkSetMac, linkSetMaster/NoMaster, linkSetName,
//              linkSetPromisc, linkSetNamespace(link, nsPath, newName?), linkSet(link, {several}),
//              linkSetBridge(link, { vlanFiltering?, ... }) on an existing bridge,
//              linkSetBridgePort(link, { hairpin?, isolated?, learning?, unicastFlood?, ... }), linkDel
//   addresses  addrAdd / addrReplace / addrDel({ link, address: IpNet, broadcast?: ip|'auto', scope?,
//              nodad?, noPrefixRoute?, label? }), addrList({ link?, family? })
//   routes     routeAdd / routeReplace / routeDel({ dst: IpNet (0.0.0.0/0 = default), gw?, link?, src?,
//              onlink?, metric?, table?, scope?, protocol?, type?, mtu?, advmss? }),
//              routeList({ family?, link?, table? (main by default, 'all') }),
//              routeGet(dst) → the route the kernel would use (`ip route get`: policy rules, all tables)
//   neighbours neighSet({ link, ip, mac, state? = 'permanent' }), neighDel({ link, ip }), neighList
//   fdb        fdbAppend / fdbSet / fdbDel({ link, mac, dst?, vni?, port?, vlan?, master? }), fdbList
//              (NTF_SELF on the device by default: VXLAN remotes; zeroMac + append = flood list)
//   bridge VLANs  bridgeVlanAdd / bridgeVlanDel(link, { vid, vidEnd?, pvid?, untagged?, self? }),
//              bridgeVlanList({ link? })  (self: the bridge device's own VLANs)
// Links are named by ifindex or by name (`LinkRef`); addresses and routes take lib/ip values.
// A kernel built without 802.1Q or bridge VLAN filtering (this project's test machines) refuses VLAN
// links and vlanFiltering with a NetlinkError of kind 'unsupported'.
//
// Batching: `const b = nl.batch(); b.routeAdd(...); b.fdbAppend(...); b.commit();` — the same change
// methods, sent together without a round trip each (10,000 routes in one commit). Not a transaction:
// every request is tried and NetlinkBatchError lists the failures by position; ENOBUFS for a request
// means its acknowledgement was lost (socket overrun) and its outcome is unknown. Links named in
// addresses, routes, fdb entries... are looked up at commit, before anything is sent.
//
// Namespaces: a handle's socket is made inside the namespace by native code that switches the
// thread there and back with no JavaScript in between, so neither this process nor libuv's threads
// ever change namespace. `openNetnsFd(path)` / `withNetnsFd` give descriptors for IFLA_NET_NS_FD.
// Sysctls: sysctlGet(nsPath | undefined, 'net/ipv4/ip_forward'), sysctlSet(nsPath, key, value).
//
// nftables (nftables.ts): nftAddTable / nftAddChain / nftFlushChain / nftAddRule / nftDeleteChain build
// nf_tables messages, `NetlinkSocket.open(nsPath, 'netfilter').transaction(nftTransaction([...]))` applies
// them as one kernel transaction; lib/nat/attachment-chain.ts is the user.
//
// Errors: NetlinkError { code: 'EEXIST', errno, kind: 'exists' | 'notFound' | 'busy' | 'permission' |
// 'invalid' | 'unsupported' | 'other', operation, extack } with the operation and the kernel's
// message in `message`; ignoreExists(fn) / ignoreNotFound(fn) for idempotent steps. Plugins report
// them as CNI code 100: toCniError(err, ErrorCode.KernelFailure).
export { Netlink, NetlinkBatch, withNetlink, type FamilyFilter, type LinkFilter, type RouteFilter } from './handle.ts';
export type {
  BridgeLink,
  DeviceLink,
  Link,
  LinkAttrs,
  LinkChange,
  LinkRef,
  LinkSpec,
  NewBridge,
  NewLinkCommon,
  NewVeth,
  NewVlan,
  NewVxlan,
  OperState,
  VethLink,
  VethPeer,
  VlanLink,
  VxlanLink,
} from './link.ts';
export type { BridgeOptions, VlanOptions, VlanProtocol, VxlanInfo, VxlanOptions } from './link-kinds.ts';
export type { BridgePortOptions } from './bridge-port.ts';
export type { BridgeVlan, BridgeVlanEntry } from './bridge-vlan.ts';
export type { Address, AddressSpec } from './address.ts';
export { mainTable, type Route, type RouteSpec, type RouteType } from './route.ts';
export type { Neighbour, NeighbourKey, NeighbourSpec, NeighbourState } from './neighbour.ts';
export type { FdbEntry, FdbSpec } from './fdb.ts';
export type { Scope } from './rtnetlink.ts';
export { formatMac, parseMac, zeroMac } from './mac.ts';
export { netnsDirectory, netnsPath, openNetnsFd, withNetnsFd } from './namespace.ts';
export { sysctlGet, sysctlPath, sysctlSet } from './sysctl.ts';
export { KernelWatch, type ChangeHandlers, type ChangeKind, type KernelChange } from './monitor.ts';
export {
  NetlinkBatchError,
  NetlinkError,
  ignoreExists,
  ignoreNotFound,
  isNetlinkError,
  type NetlinkErrorKind,
} from './errors.ts';
