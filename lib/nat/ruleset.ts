// What every weft nftables script shares: the table it owns and how addresses and comments are written.
//
// weft owns one table per nftables family, both named `weft`: `inet weft` (masquerade, one table for IPv4
// and IPv6) and `bridge weft` (MAC spoof checks; bridge-family hooks cannot live in an inet table). A
// table of its own means weft never edits chains other software manages (firewalld, Docker, iptables-nft
// all keep their own tables) and an operator can see or drop all of weft's rules at once.
import type { IpFamily } from '../ip/address.ts';
import { formatCidr, maskedNet, type IpNet } from '../ip/cidr.ts';

export const tableName = 'weft';

export type TableFamily = 'inet' | 'bridge';

/** The payload keyword of an address family in a rule: `ip saddr …` or `ip6 saddr …`. */
export function addressKeyword(family: IpFamily): 'ip' | 'ip6' {
  return family === 4 ? 'ip' : 'ip6';
}

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

/** A comment clause carrying `text` (which may come from user input) safely. */
export function nftComment(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]|"/g, '?').slice(0, commentMax);
  return `comment "${clean}"`;
}

export function tableRef(family: TableFamily): string {
  return `${family} ${tableName}`;
}
