import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installRecorder } from '../lib/cni/testing/recorder.ts';
import { formatVersionReport, versionReport } from './version-report.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-version-'));
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  installRecorder(join(dir, 'a'), ['bridge']);
  installRecorder(join(dir, 'b'), ['bridge']);
  writeFileSync(join(dir, 'b', 'host-local'), '#!/bin/sh\necho "not json"\nexit 1\n');
  chmodSync(join(dir, 'b', 'host-local'), 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('versionReport', () => {
  it('asks each suite plugin found in each directory for its versions', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const report = await versionReport('9.9.9', [a, b, a], { PATH: process.env.PATH });
    expect(report.weft).toBe('9.9.9');
    expect(report.cniVersions).toContain('1.1.0');
    expect(report.plugins).toEqual([
      { name: 'bridge', path: join(a, 'bridge'), supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] },
      { name: 'bridge', path: join(b, 'bridge'), supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] },
      { name: 'host-local', path: join(b, 'host-local'), error: expect.stringContaining('error parsing its diagnostic message') },
    ]);
    expect(report.notFound).toEqual(['overlay']);

    const text = formatVersionReport(report);
    expect(text).toMatch(/^weft 9\.9\.9\nCNI spec versions: 0\.1\.0 .* 1\.1\.0\nplugins:\n/);
    expect(text).toContain(`  bridge     ${join(a, 'bridge')} (CNI 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0)\n`);
    expect(text).toContain(`  host-local ${join(b, 'host-local')} (error: `);
    expect(text).toContain('  overlay    not found\n');
  });
});
