// rtnetlink numbers shared by several object kinds (linux/netlink.h, linux/rtnetlink.h, linux/socket.h).
// Numbers that belong to one object kind live in that kind's module.

export const NLM_F_REQUEST = 0x1;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;

/** Flag sets of the usual requests. */
export const Flags = {
  create: NLM_F_CREATE | NLM_F_EXCL,
  replace: NLM_F_CREATE | NLM_F_REPLACE,
  append: NLM_F_CREATE | NLM_F_APPEND,
  none: 0,
} as const;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

/** Address and route scopes (rtm_scope / ifa_scope). */
export type Scope = 'universe' | 'site' | 'link' | 'host' | 'nowhere';
const scopes: Record<Scope, number> = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };

export function scopeNumber(scope: Scope): number {
  return scopes[scope];
}

/** Unknown numbers (user-defined scopes) read as the nearest wider named scope. */
export function scopeName(n: number): Scope {
  if (n >= 255) return 'nowhere';
  if (n >= 254) return 'host';
  if (n >= 253) return 'link';
  if (n >= 200) return 'site';
  return 'universe';
}

export function addressFamily(family: 4 | 6): number {
  return family === 4 ? AF_INET : AF_INET6;
}
