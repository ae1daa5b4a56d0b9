// What all of weft's nftables rules share: the table it owns and how addresses, MACs and comments are matched and written.
//
// weft owns one table per nftables family it needs, both named `weft`: `inet weft` (masquerade, one table
// for IPv4 and IPv6) and `netdev weft` (MAC spoof checks, hooked on a device: an inet table cannot hold
// them). Tables of its own mean weft's per-container changes never edit chains other software manages
// (firewalld, Docker, iptables-nft keep their own tables), and an operator sees all of weft's rules at
// once (`nft list table inet weft`) or removes them with one command.
import { ipToBytes, type IpFamily } from '../ip/address.ts';
import { formatCidr, maskedNet, prefixMask, type IpNet } from '../ip/cidr.ts';
import type { NftExpr } from '../netlink/nftables.ts';

export const tableName = 'weft';

export type TableFamily = 'inet' | 'netdev';

/** Multicast is never masqueraded (nor is it routed out to where masquerade would matter). */
export function multicastCidr(family: IpFamily): string {
  return family === 4 ? '224.0.0.0/4' : 'ff00::/8';
}

/** A prefix with host bits cleared, as nft itself lists it (and as tests compare it). */
export function nftPrefix(net: IpNet): string {
  return formatCidr(maskedNet(net));
}

// nft refuses longer comments and has no escape for a double quote inside one.
const commentMax = 128;

/** `text` (which may come from user input) made a comment nft accepts and lists back unbroken. */
export function nftComment(text: string): string {
  return text.replace(/[^\x20-\x7e]|"/g, '?').slice(0, commentMax);
}

// ---- matches as nf_tables expressions (what nft compiles the same text to) ----

// NFPROTO_IPV4 / NFPROTO_IPV6, as `meta nfproto` holds them (one byte).
const nfproto: Record<IpFamily, number> = { 4: 2, 6: 10 };
// Offsets of the address fields in the IPv4 and IPv6 headers.
const addressOffsets: Record<IpFamily, Record<'saddr' | 'daddr', number>> = { 4: { saddr: 12, daddr: 16 }, 6: { saddr: 8, daddr: 24 } };

/** `meta nfproto ipv4|ipv6`: what nft puts before an address match in an inet table. */
export function matchFamily(family: IpFamily): NftExpr[] {
  return [{ meta: 'nfproto' }, { cmp: { op: 'eq', data: Uint8Array.of(nfproto[family]) } }];
}

/**
 * `ip saddr 10.1.0.0/24` (or `!=`), a full-length prefix being the address itself. As nft does it: a
 * whole-byte prefix loads only its bytes; any other loads the address and masks it.
 */
export function matchPrefix(field: 'saddr' | 'daddr', net: IpNet, op: 'eq' | 'neq' = 'eq'): NftExpr[] {
  const { family } = net.address;
  const bytes = ipToBytes(maskedNet(net).address);
  const offset = addressOffsets[family][field];
  if (net.prefix % 8 === 0 && net.prefix > 0) {
    const length = net.prefix / 8;
    return [{ payload: { base: 'network', offset, length } }, { cmp: { op, data: bytes.subarray(0, length) } }];
  }
  const mask = ipToBytes({ family, value: prefixMask(family, net.prefix) });
  return [
    { payload: { base: 'network', offset, length: bytes.length } },
    { bitwise: { mask, xor: new Uint8Array(bytes.length) } },
    { cmp: { op, data: bytes } },
  ];
}

// ARPHRD_ETHER as `meta iiftype` holds it: two bytes in host order.
const etherIfType = new Uint8Array(Uint16Array.of(1).buffer);

/** `ether saddr != <mac>` on a netdev hook, with nft's dependency: the device speaks Ethernet. */
export function matchOtherSourceMac(mac: Uint8Array): NftExpr[] {
  return [
    { meta: 'iiftype' },
    { cmp: { op: 'eq', data: etherIfType } },
    { payload: { base: 'link', offset: 6, length: 6 } },
    { cmp: { op: 'neq', data: mac } },
  ];
}
