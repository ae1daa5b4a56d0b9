// The underlay: the host interface VXLAN packets leave by, and the address peers send them to. Chosen by
// name, by a regular expression, as the interface that reaches a given address, or (by default) as the
// interface of the default route; never guessed: when several interfaces or addresses fit, the error
// lists them and says which option settles it.
import { Netlink, NetlinkError, type Address, type Link, type Route } from '../lib/netlink/index.ts';
import { formatIp, type IpAddress, type IpFamily } from '../lib/ip/address.ts';
import { formatCidr, netContains } from '../lib/ip/cidr.ts';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';

export type UnderlayChoice =
  | { readonly by: 'name'; readonly name: string }
  | { readonly by: 'regex'; readonly pattern: RegExp }
  | { readonly by: 'reach'; readonly address: IpAddress }
  | { readonly by: 'default-route' };

export interface Underlay {
  readonly name: string;
  readonly index: number;
  readonly mtu: number;
  /** What peers send VXLAN to: the interface's address, or the configured public address. */
  readonly address: IpAddress;
}

type RouteFacts = Pick<Route, 'dst' | 'link' | 'src' | 'metric' | 'type'>;

/** What the choice is made from: the kernel's links, addresses and main-table routes. */
export interface UnderlayFacts {
  readonly links: readonly Pick<Link, 'index' | 'name' | 'mtu' | 'up'>[];
  readonly addresses: readonly Pick<Address, 'link' | 'address' | 'scope' | 'secondary'>[];
  readonly routes: readonly RouteFacts[];
  /**
   * For a `reach` choice: the route the kernel itself picks toward that address (policy rules and every
   * table considered, as `ip route get`: a copy of the main table's choice would miss a host's policy
   * routing), with the source address it would use; null when nothing reaches it.
   */
  readonly reach?: Pick<Route, 'link' | 'src'> | null;
}

function refuse(detail: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, 'cannot choose the underlay interface', detail);
}

export function describeChoice(choice: UnderlayChoice): string {
  switch (choice.by) {
    case 'name': return `interface ${choice.name}`;
    case 'regex': return `interfaces matching /${choice.pattern.source}/`;
    case 'reach': return `the interface that reaches ${formatIp(choice.address)}`;
    case 'default-route': return 'the interface of the default route';
  }
}

/**
 * The one usable address of a link (global scope, primary; IPv4 preferred), else an error naming them.
 * With `toward`, only that family counts, and an address whose subnet holds `toward` wins.
 */
function linkAddress(facts: UnderlayFacts, link: { index: number; name: string }, toward?: IpAddress): IpAddress {
  const usable = facts.addresses.filter((a) => a.link === link.index && a.scope === 'universe' && !a.secondary);
  const families: IpFamily[] = toward ? [toward.family] : [4, 6];
  for (const f of families) {
    const ofFamily = usable.filter((a) => a.address.address.family === f);
    const onLink = toward ? ofFamily.filter((a) => netContains(a.address, toward)) : [];
    const candidates = onLink.length === 1 ? onLink : ofFamily;
    if (candidates.length === 1) return candidates[0]!.address.address;
    if (candidates.length > 1) {
      throw refuse(`${link.name} has ${candidates.length} IPv${f} addresses (${candidates.map((a) => formatCidr(a.address)).join(', ')}): set "underlay.publicIp" to the one peers should use`);
    }
  }
  throw refuse(`${link.name} has no global ${toward ? `IPv${toward.family} ` : ''}address for peers to reach`);
}

function linkNames(facts: UnderlayFacts): string {
  return facts.links.map((l) => l.name).join(', ');
}

/** Picks the underlay. `publicIp`, when given, is what peers are told instead of the interface's address. */
export function chooseUnderlay(choice: UnderlayChoice, facts: UnderlayFacts, publicIp?: IpAddress): Underlay {
  let link: UnderlayFacts['links'][number] | undefined;
  let address: IpAddress | undefined;
  switch (choice.by) {
    case 'name':
      link = facts.links.find((l) => l.name === choice.name);
      if (!link) throw refuse(`there is no interface ${choice.name} (interfaces: ${linkNames(facts)})`);
      break;
    case 'regex': {
      const matches = facts.links.filter((l) => choice.pattern.test(l.name) && l.up);
      if (matches.length === 0) throw refuse(`no interface that is up matches /${choice.pattern.source}/ (interfaces: ${linkNames(facts)})`);
      if (matches.length > 1) {
        throw refuse(`${matches.length} interfaces match /${choice.pattern.source}/ (${matches.map((l) => l.name).join(', ')}): name one with "underlay.interface" or narrow the pattern`);
      }
      link = matches[0];
      break;
    }
    case 'reach': {
      const route = facts.reach;
      if (!route) throw refuse(`no route reaches ${formatIp(choice.address)}`);
      link = facts.links.find((l) => l.index === route.link);
      address = route.src;
      break;
    }
    case 'default-route': {
      const defaults = facts.routes.filter((r) => r.dst.prefix === 0 && r.type === 'unicast' && r.link !== undefined);
      const family: IpFamily = defaults.some((r) => r.dst.address.family === 4) ? 4 : 6;
      const best = new Map<number, RouteFacts>();
      for (const route of defaults.filter((r) => r.dst.address.family === family)) best.set(route.link!, route);
      if (best.size === 0) throw refuse('there is no default route: choose the underlay with "underlay.interface", "underlay.interfaceRegex" or "underlay.reach"');
      if (best.size > 1) {
        const names = [...best.keys()].map((i) => facts.links.find((l) => l.index === i)?.name ?? `#${i}`);
        throw refuse(`default routes leave by ${names.join(' and ')}: name the underlay with "underlay.interface" or "underlay.reach"`);
      }
      const [route] = best.values();
      link = facts.links.find((l) => l.index === route!.link);
      address = route!.src;
      break;
    }
  }
  if (!link) throw refuse(`the route for ${describeChoice(choice)} leaves by an interface that is not listed`);
  const chosen = publicIp ?? address ?? linkAddress(facts, link, choice.by === 'reach' ? choice.address : undefined);
  return { name: link.name, index: link.index, mtu: link.mtu, address: chosen };
}

/** Reads the facts for `choice` from the network namespace at `netns` (this one when absent). */
export function readUnderlayFacts(choice: UnderlayChoice, netns?: string): UnderlayFacts {
  const nl = Netlink.open(netns);
  try {
    const facts = { links: nl.linkList(), addresses: nl.addrList(), routes: nl.routeList() };
    if (choice.by !== 'reach') return facts;
    try {
      return { ...facts, reach: nl.routeGet(choice.address) };
    } catch (err) {
      // No route, or one that refuses the destination (unreachable, prohibit): nothing reaches it.
      if (err instanceof NetlinkError && ['ENETUNREACH', 'EHOSTUNREACH', 'EACCES'].includes(err.code)) return { ...facts, reach: null };
      throw err;
    }
  } finally {
    nl.close();
  }
}
