import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readResolvConf } from './resolv-conf.ts';

describe('readResolvConf', () => {
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
