import { describe, expect, it } from 'vitest';
import { parseResolvConf } from './resolv-conf.ts';

describe('parseResolvConf', () => {
  it('reads nameservers, domain, search and options; skips comments and other keywords', () => {
    const text = [
      '# generated', '; also a comment', 'nameserver 10.0.0.53', '  nameserver   fd00::53  ', 'domain example.org',
      'search a.example b.example', 'search c.example', 'options ndots:5 edns0', 'sortlist 10.0.0.0', 'nameserver', '',
    ].join('\n');
    expect(parseResolvConf(text)).toEqual({
      nameservers: ['10.0.0.53', 'fd00::53'],
      domain: 'example.org',
      search: ['a.example', 'b.example', 'c.example'],
      options: ['ndots:5', 'edns0'],
    });
    expect(parseResolvConf('# nothing\n')).toEqual({});
  });
});
