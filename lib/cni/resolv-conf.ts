// resolv.conf as the reference plugins read it (nameserver, domain, search, options; comments and other
// keywords ignored): host-local's ipam.resolvConf, and the host's resolvers weftd forwards to.
import type { Dns } from './types.ts';

export function parseResolvConf(text: string): Dns {
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  let domain: string | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [keyword, ...values] = line.split(/\s+/);
    if (values.length === 0) continue;
    switch (keyword) {
      case 'nameserver':
        nameservers.push(values[0]!);
        break;
      case 'domain':
        domain = values[0];
        break;
      case 'search':
        search.push(...values);
        break;
      case 'options':
        options.push(...values);
        break;
    }
  }
  const dns: Dns = {};
  if (nameservers.length > 0) dns.nameservers = nameservers;
  if (domain !== undefined) dns.domain = domain;
  if (search.length > 0) dns.search = search;
  if (options.length > 0) dns.options = options;
  return dns;
}
