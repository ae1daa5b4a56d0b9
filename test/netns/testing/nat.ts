// Shared by the nat-*.test.ts kernel tests: running lib/nat inside a test namespace, reading what nft holds
// there (the witness), cabling namespaces together and sending traffic between them.
import type { NftTarget } from '../../../lib/nat/nftables.ts';
import { describeFailure, run, runChecked } from './command.ts';
import type { Netns } from './netns.ts';

/** Makes lib/nat change nftables inside `ns` instead of the test's own namespace. */
export function nftIn(ns: Netns): NftTarget {
  return { netns: ns.path };
}

export interface WitnessChain {
  family: string;
  table: string;
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

export interface WitnessRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr: unknown[];
}

export interface Witness {
  tables: string[];
  chains: WitnessChain[];
  rules: WitnessRule[];
}

/** `nft -j list ruleset` inside `ns`. */
export function ruleset(ns: Netns): Witness {
  const out = runChecked('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'ruleset']);
  const witness: Witness = { tables: [], chains: [], rules: [] };
  for (const item of (JSON.parse(out) as { nftables: Record<string, unknown>[] }).nftables) {
    if (item.table) {
      const table = item.table as { family: string; name: string };
      witness.tables.push(`${table.family} ${table.name}`);
    } else if (item.chain) witness.chains.push(item.chain as WitnessChain);
    else if (item.rule) witness.rules.push(item.rule as WitnessRule);
  }
  return witness;
}

/** The rules of one chain as nft prints them, one string each. */
export function chainRules(ns: Netns, family: string, table: string, chain: string): string[] {
  const out = runChecked('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'chain', family, table, chain]);
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^(table|chain|type|comment) |^}$/.test(line));
}

/** Applies an nft script inside `ns` with nft itself (test set-up, not the code under test). */
export function nftScript(ns: Netns, script: string): void {
  const result = ns.exec('nft', ['-f', '-'], script);
  if (result.status !== 0) throw new Error(describeFailure(result));
}

/** Packets counted so far by the named counter of `inet witness` in `ns` (see `countArrivals`). */
export function counted(ns: Netns, name: string): number {
  const out = runChecked('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'counter', 'inet', 'witness', name]);
  const item = (JSON.parse(out) as { nftables: { counter?: { packets: number } }[] }).nftables.find((i) => i.counter);
  return item!.counter!.packets;
}

/**
 * Counts, in `ns`, echo requests arriving from each of `sources` (name → address), so a test can tell
 * which source address a packet carried when it arrived.
 */
export function countArrivals(ns: Netns, sources: Record<string, string>): void {
  const lines = ['add table inet witness', 'add chain inet witness in { type filter hook input priority 0; }'];
  for (const [name, address] of Object.entries(sources)) {
    const ip = address.includes(':') ? 'ip6' : 'ip';
    const echo = address.includes(':') ? 'icmpv6 type echo-request' : 'icmp type echo-request';
    lines.push(`add counter inet witness ${name}`, `add rule inet witness in ${ip} saddr ${address} ${echo} counter name ${name}`);
  }
  nftScript(ns, lines.join('\n') + '\n');
}

/**
 * Connects `a` and `b` by a veth pair and puts the addresses (CIDR) on each end. DAD is off: a tentative
 * link-local address holds back neighbour discovery, and with it the first packets a test counts.
 */
export function cable(a: Netns, aIf: string, aAddrs: string[], b: Netns, bIf: string, bAddrs: string[]): void {
  a.ip('link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name);
  for (const [ns, ifName, addrs] of [[a, aIf, aAddrs], [b, bIf, bAddrs]] as const) {
    sysctl(ns, `net.ipv6.conf.${ifName}.accept_dad`, '0');
    for (const addr of addrs) ns.ip('addr', 'add', addr, 'dev', ifName);
    ns.ip('link', 'set', ifName, 'up');
  }
}

function sysctl(ns: Netns, key: string, value: string): void {
  runChecked('ip', ['netns', 'exec', ns.name, 'sysctl', '-qw', `${key}=${value}`]);
}

/** Turns `ns` into a router for both families (its own sysctls, inside the namespace). */
export function enableForwarding(ns: Netns): void {
  for (const key of ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']) sysctl(ns, key, '1');
}

/**
 * Three pings from `ns` to `address`, 200 ms apart; true when any is answered. More than one, because on a
 * loaded machine the first can wait on neighbour discovery longer than ping waits for its answer.
 */
export function pings(ns: Netns, address: string): boolean {
  return run('ip', ['netns', 'exec', ns.name, 'ping', '-c', '3', '-i', '0.2', '-W', '1', address]).status === 0;
}
