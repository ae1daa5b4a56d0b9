import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../lib/cni/errors.ts';
import { parseCidr } from '../lib/ip/cidr.ts';
import { formatInstallReport, installSuite, type InstallOptions } from './install.ts';

const bridgeConf = {
  cniVersion: '1.0.0',
  name: 'weft-bridge',
  plugins: [{ type: 'bridge', bridge: 'weftbr0', ipam: { type: 'host-local', ranges: [[{ subnet: '10.66.0.0/16' }]] } }],
};

let dir: string;
let options: InstallOptions;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-install-'));
  options = {
    sourceBinDir: join(dir, 'dist'),
    sourceConfDir: join(dir, 'conf'),
    binDir: join(dir, 'opt/cni/bin'),
    confDir: join(dir, 'etc/cni/net.d'),
    cniVersion: '1.0.0',
    force: false,
    routes: [],
  };
  mkdirSync(options.sourceBinDir);
  mkdirSync(options.sourceConfDir);
  for (const name of ['bridge', 'host-local', 'weft', 'weftd']) writeFileSync(join(options.sourceBinDir, name), `#!/bin/sh\n# ${name}\n`);
  writeFileSync(join(options.sourceConfDir, '10-weft-bridge.conflist'), JSON.stringify(bridgeConf));
  writeFileSync(join(options.sourceConfDir, 'README.md'), 'not a config');
  // Only .conflist files are network configs: another JSON file beside them is not copied.
  writeFileSync(join(options.sourceConfDir, 'weftd.json'), '{"store":{"type":"etcd"}}');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const installed = (name: string) => JSON.parse(readFileSync(join(options.confDir, name), 'utf8'));

describe('installSuite', () => {
  it('copies the built plugins (executable) and writes the network configs into directories it creates', () => {
    const report = installSuite(options);
    expect(report.installed).toEqual([join(options.binDir, 'bridge'), join(options.binDir, 'host-local')]);
    expect(report.plan.write.map((c) => c.file)).toEqual(['90-weft-bridge.conflist']);
    expect(report.missing).toEqual(['overlay']);
    expect(readdirSync(options.binDir)).toEqual(['bridge', 'host-local']);
    expect(readdirSync(options.confDir)).toEqual(['90-weft-bridge.conflist']);
    expect(readFileSync(join(options.binDir, 'bridge'), 'utf8')).toBe('#!/bin/sh\n# bridge\n');
    expect(statSync(join(options.binDir, 'bridge')).mode & 0o777).toBe(0o755);
    expect(statSync(join(options.confDir, '90-weft-bridge.conflist')).mode & 0o777).toBe(0o644);
    expect(installed('90-weft-bridge.conflist')).toEqual(bridgeConf);
  });

  it('writes the chosen cniVersion and subnets', () => {
    installSuite({ ...options, cniVersion: '1.1.0', subnets: ['10.70.0.0/24'] });
    expect(installed('90-weft-bridge.conflist')).toMatchObject({ cniVersion: '1.1.0', plugins: [{ ipam: { ranges: [[{ subnet: '10.70.0.0/24' }]] } }] });
  });

  it('replaces plugins, but keeps a config defining the network unless forced, which replaces it under the new name', () => {
    mkdirSync(options.binDir, { recursive: true });
    mkdirSync(options.confDir, { recursive: true });
    writeFileSync(join(options.binDir, 'bridge'), 'old');
    writeFileSync(join(options.confDir, '10-weft-bridge.conflist'), '{"cniVersion":"1.1.0","name":"weft-bridge","edited":true}');
    const report = installSuite(options);
    expect(readFileSync(join(options.binDir, 'bridge'), 'utf8')).toContain('# bridge');
    expect(report.plan.kept).toEqual([{ file: '10-weft-bridge.conflist', network: 'weft-bridge', cniVersion: '1.1.0', subnets: [] }]);
    // An older install's config says a cniVersion containerd 1.6/1.7 refuse: the report shows it.
    expect(formatInstallReport(report, options.confDir)).toContain(
      `kept ${join(options.confDir, '10-weft-bridge.conflist')}: it defines network weft-bridge, cniVersion 1.1.0 (--force replaces it)\n`,
    );
    expect(readdirSync(options.confDir)).toEqual(['10-weft-bridge.conflist']);
    const forced = installSuite({ ...options, force: true });
    expect(forced.plan.remove).toEqual(['10-weft-bridge.conflist']);
    expect(readdirSync(options.confDir)).toEqual(['90-weft-bridge.conflist']);
    expect(installed('90-weft-bridge.conflist')).toEqual(bridgeConf);
  });

  it('installs nothing when the plan is refused (a subnet the host routes elsewhere)', () => {
    const routes = [{ dst: parseCidr('10.66.0.0/20'), device: 'eth1' }];
    expect(() => installSuite({ ...options, routes })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidNetworkConfig }));
    expect(existsSync(options.binDir)).toBe(false);
    expect(existsSync(options.confDir)).toBe(false);
  });

  it('reads the directory\'s configs with a bound: a huge or special file counts by its name only', () => {
    mkdirSync(options.confDir, { recursive: true });
    writeFileSync(join(options.confDir, '50-huge.conf'), Buffer.alloc(2 << 20, 0x20));
    const report = installSuite({ ...options, defaultNetwork: 'weft-bridge' });
    expect(report.plan.defaultBefore).toEqual({ file: '50-huge.conf', subnets: [] });
    expect(report.plan.write.map((c) => c.file)).toEqual(['10-weft-bridge.conflist']);
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

  it('installs each launcher after the Node plugin it falls back to, which names the given Node', () => {
    mkdirSync(join(options.sourceBinDir, 'weft-plugins'));
    writeFileSync(join(options.sourceBinDir, 'weft-plugins', 'bridge'), '#!/usr/bin/env node\n// weft-plugin bridge\n');
    writeFileSync(join(options.sourceBinDir, 'bridge'), '\x7fELF launcher');
    const report = installSuite({ ...options, interpreter: '/usr/bin/node' });
    expect(report.installed.slice(0, 2)).toEqual([join(options.binDir, 'weft-plugins', 'bridge'), join(options.binDir, 'bridge')]);
    expect(readFileSync(join(options.binDir, 'weft-plugins', 'bridge'), 'utf8')).toBe('#!/usr/bin/node\n// weft-plugin bridge\n');
    expect(statSync(join(options.binDir, 'weft-plugins', 'bridge')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(options.binDir, 'bridge'), 'utf8')).toBe('\x7fELF launcher');
  });

  it('refuses to install nothing', () => {
    expect(() => installSuite({ ...options, sourceBinDir: join(dir, 'empty') })).toThrow(
      expect.objectContaining({ code: ErrorCode.IoFailure, msg: `no weft plugins in ${join(dir, 'empty')}` }),
    );
  });
});

describe('formatInstallReport', () => {
  it('says what it wrote and which network is the default, before and after', () => {
    mkdirSync(options.confDir, { recursive: true });
    writeFileSync(join(options.confDir, '87-podman-bridge.conflist'), '{"name":"podman","plugins":[]}');
    const text = formatInstallReport(installSuite(options), options.confDir);
    expect(text).toBe([
      `installed ${join(options.binDir, 'bridge')}`,
      `installed ${join(options.binDir, 'host-local')}`,
      `installed ${join(options.confDir, '90-weft-bridge.conflist')}: network weft-bridge, cniVersion 1.0.0, subnets 10.66.0.0/16`,
      `default network in ${options.confDir}: podman (87-podman-bridge.conflist), unchanged`,
      '  containerd (ctr, CRI) and CRI-O take the first file as the default; weft install --default NETWORK puts one of weft\'s first',
      '  Podman, nerdctl and cnitool name the network: podman run --network weft-bridge',
      '',
    ].join('\n'));
    const taken = formatInstallReport(installSuite({ ...options, force: true, defaultNetwork: 'weft-bridge' }), options.confDir);
    expect(taken).toContain(`removed ${join(options.confDir, '90-weft-bridge.conflist')}: replaced\n`);
    expect(taken).toContain(`default network in ${options.confDir}: weft-bridge (10-weft-bridge.conflist), was podman (87-podman-bridge.conflist)\n`);
  });
});
