import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseResolvConf, readResolvConf } from './resolv-conf.ts';

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
  it('reads a file and reports a missing one as code 5', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wt-resolv-'));
    try {
      writeFileSync(join(dir, 'resolv.conf'), 'nameserver 1.1.1.1\r\n');
      expect(readResolvConf(join(dir, 'resolv.conf'))).toEqual({ nameservers: ['1.1.1.1'] });
      expect(() => readResolvConf(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 5 }));
      // Read with a bound: a file this large is no resolv.conf (and /dev/zero never ends).
      writeFileSync(join(dir, 'huge'), `nameserver 1.1.1.1\n${'#'.repeat(2 << 20)}\n`);
      expect(() => readResolvConf(join(dir, 'huge'))).toThrow(expect.objectContaining({ code: 7, msg: 'invalid resolvConf' }));
      expect(() => readResolvConf('/dev/zero')).toThrow(expect.objectContaining({ code: 7, details: '/dev/zero is not a regular file' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
