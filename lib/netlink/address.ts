// Interface addresses (IPv4 and IPv6): RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR.
import { ipFromBytes, ipToBytes, type IpAddress, type IpFamily } from '../ip/address.ts';
import { formatCidr, lastAddress, type IpNet } from '../ip/cidr.ts';
import { Attrs, MessageWriter, readU32 } from './codec.ts';
import { describeLink, type LinkRef, type Resolver } from './link.ts';
import { AF_INET, AF_UNSPEC, Flags, NLM_F_DUMP, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR, addressFamily, scopeName, scopeNumber, type Scope } from './rtnetlink.ts';
import type { Request } from './socket.ts';

// linux/if_addr.h
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;
const IFA_F_SECONDARY = 0x01;
const IFA_F_NODAD = 0x02;
const IFA_F_DADFAILED = 0x08;
const IFA_F_DEPRECATED = 0x20;
const IFA_F_TENTATIVE = 0x40;
const IFA_F_PERMANENT = 0x80;
const IFA_F_NOPREFIXROUTE = 0x200;

export interface AddressSpec {
  readonly link: LinkRef;
  /** The address with its prefix length, e.g. 10.1.0.5/24. */
  readonly address: IpNet;
  /** IPv4 broadcast address; 'auto' for the prefix's last address. */
  readonly broadcast?: IpAddress | 'auto';
  /** IPv4 label (must start with the interface name). */
  readonly label?: string;
  readonly scope?: Scope;
  /** IPv6: skip duplicate address detection, so the address is usable at once. */
  readonly nodad?: boolean;
  /** Do not add the prefix route the kernel otherwise adds with the address. */
  readonly noPrefixRoute?: boolean;
}

export interface Address {
  readonly link: number;
  readonly address: IpNet;
  readonly scope: Scope;
  readonly broadcast?: IpAddress;
  readonly label?: string;
  readonly nodad: boolean;
  readonly noPrefixRoute: boolean;
  readonly permanent: boolean;
  readonly secondary: boolean;
  /** IPv6 duplicate address detection still running. */
  readonly tentative: boolean;
  readonly dadFailed: boolean;
  readonly deprecated: boolean;
}

export function addrRequest(op: 'add' | 'replace' | 'delete', spec: AddressSpec, r: Resolver): Request {
  const { address: ip, prefix } = spec.address;
  const type = op === 'delete' ? RTM_DELADDR : RTM_NEWADDR;
  const flags = op === 'add' ? Flags.create : op === 'replace' ? Flags.replace : Flags.none;
  const ifaFlags = (spec.nodad ? IFA_F_NODAD : 0) | (spec.noPrefixRoute ? IFA_F_NOPREFIXROUTE : 0);
  const w = new MessageWriter(type, flags)
    .u8(addressFamily(ip.family))
    .u8(prefix)
    .u8(ifaFlags & 0xff)
    .u8(scopeNumber(spec.scope ?? 'universe'))
    .u32(r.index(spec.link));
  const bytes = ipToBytes(ip);
  w.attrBytes(IFA_LOCAL, bytes).attrBytes(IFA_ADDRESS, bytes);
  if (op !== 'delete') {
    // The flags above 8 bits (noprefixroute) exist only in IFA_FLAGS.
    if (ifaFlags !== 0) w.attrU32(IFA_FLAGS, ifaFlags);
    if (spec.broadcast !== undefined && ip.family === 4) {
      w.attrBytes(IFA_BROADCAST, ipToBytes(spec.broadcast === 'auto' ? lastAddress(spec.address) : spec.broadcast));
    }
    if (spec.label !== undefined) w.attrString(IFA_LABEL, spec.label);
  }
  return { message: w.finish(), operation: () => `${op} address ${formatCidr(spec.address)} on ${describeLink(spec.link)}` };
}

export function addrDumpRequest(family?: IpFamily): Request {
  const w = new MessageWriter(RTM_GETADDR, NLM_F_DUMP).u8(family ? addressFamily(family) : AF_UNSPEC).u8(0).u8(0).u8(0).u32(0);
  return { message: w.finish(), operation: () => 'list addresses' };
}

export function decodeAddress(body: Buffer): Address | undefined {
  const family = body[0]!;
  const a = new Attrs(body, 8);
  // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links.
  const raw = a.bytes(IFA_LOCAL) ?? a.bytes(IFA_ADDRESS);
  if (!raw || (raw.length !== 4 && raw.length !== 16)) return undefined;
  const flags = a.u32(IFA_FLAGS) ?? body[2]!;
  const broadcast = family === AF_INET ? a.bytes(IFA_BROADCAST) : undefined;
  const label = a.string(IFA_LABEL);
  return {
    link: readU32(body, 4),
    address: { address: ipFromBytes(raw), prefix: body[1]! },
    scope: scopeName(body[3]!),
    ...(broadcast && broadcast.length === 4 && { broadcast: ipFromBytes(broadcast) }),
    ...(label !== undefined && { label }),
    nodad: (flags & IFA_F_NODAD) !== 0,
    noPrefixRoute: (flags & IFA_F_NOPREFIXROUTE) !== 0,
    permanent: (flags & IFA_F_PERMANENT) !== 0,
    secondary: (flags & IFA_F_SECONDARY) !== 0,
    tentative: (flags & IFA_F_TENTATIVE) !== 0,
    dadFailed: (flags & IFA_F_DADFAILED) !== 0,
    deprecated: (flags & IFA_F_DEPRECATED) !== 0,
  };
}
