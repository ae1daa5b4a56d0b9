// What every weft nftables script shares: the table it owns and how addresses and comments are written.
//
// weft owns one table per nftables family it needs, both named `weft`: `inet weft` (masquerade, one table
// for IPv4 and IPv6) and `netdev weft` (MAC spoof checks, hooked on a device: an inet table cannot hold
// them). Tables of its own mean weft's per-container changes never edit chains other software manages
// (firewalld, Docker, iptables-nft keep their own tables), and an operator sees all of weft's rules at
// once (`nft list table inet weft`) or removes them with one command.
import type { IpFamily } from '../ip/address.ts';
import { formatCidr, maskedNet, type IpNet } from '../ip/cidr.ts';

export const tableName = 'weft';

export type TableFamily = 'inet' | 'netdev';

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
