import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../lib/cni/errors.ts';
import { installSuite, type InstallOptions } from './install.ts';

let dir: string;
let options: InstallOptions;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-install-'));
  options = {
    sourceBinDir: join(dir, 'dist'),
    sourceConfDir: join(dir, 'conf'),
    binDir: join(dir, 'opt/cni/bin'),
    confDir: join(dir, 'etc/cni/net.d'),
    force: false,
  };
  mkdirSync(options.sourceBinDir);
  mkdirSync(options.sourceConfDir);
  for (const name of ['bridge', 'host-local', 'weft', 'weftd']) writeFileSync(join(options.sourceBinDir, name), `#!/bin/sh\n# ${name}\n`);
  writeFileSync(join(options.sourceConfDir, '10-weft-bridge.conflist'), '{"name":"weft-bridge"}');
  writeFileSync(join(options.sourceConfDir, 'README.md'), 'not a config');
  // Only .conflist files are network configs: another JSON file beside them is not copied.
  writeFileSync(join(options.sourceConfDir, 'weftd.json'), '{"store":{"type":"etcd"}}');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('installSuite', () => {
  it('copies the built plugins (executable) and the example configs into directories it creates', () => {
    const report = installSuite(options);
    expect(report.installed).toEqual([
      join(options.binDir, 'bridge'),
      join(options.binDir, 'host-local'),
      join(options.confDir, '10-weft-bridge.conflist'),
    ]);
    expect(report.missing).toEqual(['overlay']);
    expect(readdirSync(options.binDir)).toEqual(['bridge', 'host-local']);
    expect(readdirSync(options.confDir)).toEqual(['10-weft-bridge.conflist']);
    expect(readFileSync(join(options.binDir, 'bridge'), 'utf8')).toBe('#!/bin/sh\n# bridge\n');
    expect(statSync(join(options.binDir, 'bridge')).mode & 0o777).toBe(0o755);
    expect(statSync(join(options.confDir, '10-weft-bridge.conflist')).mode & 0o777).toBe(0o644);
  });

  it('replaces plugins, but keeps an existing config unless forced', () => {
    mkdirSync(options.binDir, { recursive: true });
    mkdirSync(options.confDir, { recursive: true });
    writeFileSync(join(options.binDir, 'bridge'), 'old');
    writeFileSync(join(options.confDir, '10-weft-bridge.conflist'), 'edited');
    const report = installSuite(options);
    expect(readFileSync(join(options.binDir, 'bridge'), 'utf8')).toContain('# bridge');
    expect(report.kept).toEqual([join(options.confDir, '10-weft-bridge.conflist')]);
    expect(readFileSync(join(options.confDir, '10-weft-bridge.conflist'), 'utf8')).toBe('edited');
    installSuite({ ...options, force: true });
    expect(readFileSync(join(options.confDir, '10-weft-bridge.conflist'), 'utf8')).toBe('{"name":"weft-bridge"}');
  });

  it('installs plugins alone when there is no conf directory', () => {
    const report = installSuite({ ...options, sourceConfDir: join(dir, 'absent') });
    expect(report.installed).toHaveLength(2);
    expect(existsSync(options.confDir)).toBe(false);
  });

  it('makes installed plugins name the given Node instead of `/usr/bin/env node`, byte for byte otherwise', () => {
    const body = '// weft-plugin bridge\n"use strict";const s="\u00e9\u2192";\n';
    writeFileSync(join(options.sourceBinDir, 'bridge'), `#!/usr/bin/env node\n${body}`);
    installSuite({ ...options, interpreter: '/opt/node-v20/bin/node' });
    expect(readFileSync(join(options.binDir, 'bridge'), 'utf8')).toBe(`#!/opt/node-v20/bin/node\n${body}`);
    // Any other first line is left alone.
    expect(readFileSync(join(options.binDir, 'host-local'), 'utf8')).toBe('#!/bin/sh\n# host-local\n');
  });

  it('refuses to install nothing', () => {
    expect(() => installSuite({ ...options, sourceBinDir: join(dir, 'empty') })).toThrow(
      expect.objectContaining({ code: ErrorCode.IoFailure, msg: `no weft plugins in ${join(dir, 'empty')}` }),
    );
  });
});
