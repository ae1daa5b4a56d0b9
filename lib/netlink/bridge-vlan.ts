// VLANs on bridge ports and on the bridge itself (`bridge vlan add/del/show`): IFLA_AF_SPEC holding
// IFLA_BRIDGE_VLAN_INFO, sent as RTM_SETLINK / RTM_DELLINK with family AF_BRIDGE.
import { attrEntries, Attrs, MessageWriter, readU16 } from './codec.ts';
import { checkVlanId } from './link-kinds.ts';
import { describeLink, linkIndex, writeIfinfo, type LinkRef, type Resolver } from './link.ts';
import { AF_BRIDGE, Flags, NLM_F_DUMP, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK } from './rtnetlink.ts';
import type { Request } from './socket.ts';

const IFLA_EXT_MASK = 29;
const IFLA_AF_SPEC = 26;
const IFLA_BRIDGE_FLAGS = 0;
const IFLA_BRIDGE_VLAN_INFO = 2;
const BRIDGE_FLAGS_SELF = 2;
const BRIDGE_VLAN_INFO_PVID = 0x2;
const BRIDGE_VLAN_INFO_UNTAGGED = 0x4;
const BRIDGE_VLAN_INFO_RANGE_BEGIN = 0x8;
const BRIDGE_VLAN_INFO_RANGE_END = 0x10;
const RTEXT_FILTER_BRVLAN = 1 << 1;

export interface BridgeVlan {
  readonly vid: number;
  /** Last VLAN of a range vid..vidEnd (a trunk). */
  readonly vidEnd?: number;
  /** Untagged frames entering the port belong to this VLAN. */
  readonly pvid?: boolean;
  /** Frames of this VLAN leave the port untagged. */
  readonly untagged?: boolean;
  /** Apply to the bridge device itself (its own port toward the host) rather than to a port. */
  readonly self?: boolean;
}

export interface BridgeVlanEntry {
  /** ifindex of the port (or of the bridge, for its own VLANs). */
  readonly link: number;
  readonly vid: number;
  readonly pvid: boolean;
  readonly untagged: boolean;
}

export function bridgeVlanRequest(op: 'add' | 'delete', ref: LinkRef, vlan: BridgeVlan, r: Resolver): Request {
  checkVlanId(vlan.vid);
  if (vlan.vidEnd !== undefined) checkVlanId(vlan.vidEnd);
  const w = writeIfinfo(new MessageWriter(op === 'add' ? RTM_SETLINK : RTM_DELLINK, Flags.none), AF_BRIDGE, r.index(ref));
  const flags = (vlan.pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (vlan.untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0);
  w.nest(IFLA_AF_SPEC, () => {
    if (vlan.self) w.attrU16(IFLA_BRIDGE_FLAGS, BRIDGE_FLAGS_SELF);
    // struct bridge_vlan_info { __u16 flags; __u16 vid; }, in host byte order.
    const info = (f: number, vid: number): void => void w.nest(IFLA_BRIDGE_VLAN_INFO, () => w.u16(f).u16(vid), false);
    if (vlan.vidEnd === undefined || vlan.vidEnd === vlan.vid) {
      info(flags, vlan.vid);
    } else {
      info(flags | BRIDGE_VLAN_INFO_RANGE_BEGIN, vlan.vid);
      info(flags | BRIDGE_VLAN_INFO_RANGE_END, vlan.vidEnd);
    }
  });
  const vids = vlan.vidEnd === undefined ? `${vlan.vid}` : `${vlan.vid}-${vlan.vidEnd}`;
  const how = `${vlan.pvid ? ' pvid' : ''}${vlan.untagged ? ' untagged' : ''}${vlan.self ? ' self' : ''}`;
  return { message: w.finish(), operation: () => `${op} bridge vlan ${vids}${how} on ${describeLink(ref)}` };
}

export function bridgeVlanDumpRequest(): Request {
  const w = writeIfinfo(new MessageWriter(RTM_GETLINK, NLM_F_DUMP), AF_BRIDGE, 0).attrU32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
  return { message: w.finish(), operation: () => 'list bridge vlans' };
}

/** The VLANs in one AF_BRIDGE RTM_NEWLINK body. */
export function decodeBridgeVlans(body: Buffer): BridgeVlanEntry[] {
  const spec = new Attrs(body, 16).bytes(IFLA_AF_SPEC);
  if (!spec) return [];
  const link = linkIndex(body);
  return attrEntries(spec)
    .filter(([type, payload]) => type === IFLA_BRIDGE_VLAN_INFO && payload.length >= 4)
    .map(([, payload]) => {
      const flags = readU16(payload, 0);
      return {
        link,
        vid: readU16(payload, 2),
        pvid: (flags & BRIDGE_VLAN_INFO_PVID) !== 0,
        untagged: (flags & BRIDGE_VLAN_INFO_UNTAGGED) !== 0,
      };
    });
}
