// ipam.resolvConf: a resolv.conf read into the result's `dns`, as the reference plugin reads it
// (nameserver, domain, search, options; comments and other keywords ignored).
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { Dns } from '../../lib/cni/types.ts';
import { readBoundedFile, UnreadableFileError } from '../../lib/files/bounded-read.ts';

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

export function readResolvConf(path: string): Dns {
  let text: string;
  try {
    text = readBoundedFile(path);
  } catch (err) {
    if (err instanceof UnreadableFileError) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid resolvConf', err.message, { cause: err });
    throw new CniError(ErrorCode.IoFailure, `failed to read resolvConf ${path}`, (err as Error).message, { cause: err });
  }
  return parseResolvConf(text);
}
