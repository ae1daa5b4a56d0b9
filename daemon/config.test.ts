import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import type { JsonObject } from '../lib/json/json-value.ts';
import { formatIp } from '../lib/ip/address.ts';
import { mergeFlags, parseConfigFile, parseDaemonOptions, storeFlagConflict } from './config.ts';
import { parseNetworkConfig } from './network-config.ts';

function refusal(raw: JsonObject): string {
  try {
    parseDaemonOptions(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(ErrorCode.InvalidNetworkConfig);
    expect((err as CniError).msg).toBe('invalid weftd config');
    return (err as CniError).message;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('parseDaemonOptions', () => {
  it('defaults to the embedded store, the default route and a local listener', () => {
    expect(parseDaemonOptions({})).toEqual({
      nodeName: hostname(),
      stateDir: '/var/lib/weft',
      subnetFile: '/run/weft/subnet.env',
      store: { type: 'embedded', path: '/var/lib/weft/leases.json' },
      underlay: { by: 'default-route' },
      listen: { host: '127.0.0.1', port: 9475 },
      logLevel: 'info',
      api: { socket: '/run/weft/weftd.sock', overlayDataDir: '/var/lib/cni/weft/overlay' },
      dns: { resolvConf: '/etc/resolv.conf' },
      intervals: { reconcileMs: 5000, firewallMs: 60_000, probeMs: 5000 },
      plugins: { serve: true, workers: 4 },
      overlay: true,
    });
  });

  it('answers DNS unless turned off, forwarding to the resolv.conf given', () => {
    expect(parseDaemonOptions({ dns: { resolvConf: '/run/host/resolv.conf' } }).dns).toEqual({ resolvConf: '/run/host/resolv.conf' });
    expect(parseDaemonOptions({ dns: { enabled: false } }).dns).toBeUndefined();
  });

  it('reads the plugin host\'s settings, and refuses a weftd with neither it nor the overlay', () => {
    expect(parseDaemonOptions({ plugins: { workers: 8 }, overlay: false })).toMatchObject({ plugins: { serve: true, workers: 8 }, overlay: false });
    expect(parseDaemonOptions({ plugins: { serve: false } }).plugins).toEqual({ serve: false, workers: 4 });
    expect(refusal({ overlay: false, plugins: { serve: false } })).toMatch(/"overlay" is false and plugins.serve too/);
    expect(refusal({ plugins: { workers: 0 } })).toMatch(/workers/);
    expect(refusal({ plugins: { threads: 2 } })).toMatch(/threads/);
  });

  it('reads the data path intervals in seconds, each defaulted alone', () => {
    expect(parseDaemonOptions({ intervals: { reconcile: 30, probe: 2 } }).intervals).toEqual({ reconcileMs: 30_000, firewallMs: 60_000, probeMs: 2000 });
  });

  it('reads a full etcd configuration', () => {
    const options = parseDaemonOptions({
      nodeName: 'node-a', stateDir: '/srv/weft', subnetFile: '/run/w/subnet.env', logLevel: 'debug', listen: '[::1]:9999',
      store: { type: 'etcd', endpoints: ['https://10.0.0.1:2379/', 'https://10.0.0.2:2379'], prefix: '/k/net', caFile: '/ca', certFile: '/c', keyFile: '/k' },
      underlay: { reach: '10.0.0.1', publicIp: '203.0.113.5' },
      network: { network: '10.244.0.0/16' },
    });
    expect(options).toMatchObject({
      nodeName: 'node-a', stateDir: '/srv/weft', logLevel: 'debug', listen: { host: '::1', port: 9999 },
      store: { type: 'etcd', endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'], prefix: '/k/net', caFile: '/ca', certFile: '/c', keyFile: '/k' },
      network: { network: '10.244.0.0/16' },
    });
    expect(options.underlay.by).toBe('reach');
    expect(formatIp(options.publicIp!)).toBe('203.0.113.5');
  });

  it('compiles an interface pattern', () => {
    const options = parseDaemonOptions({ underlay: { interfaceRegex: '^en[a-z0-9]+$' } });
    expect(options.underlay.by === 'regex' && options.underlay.pattern.test('enp1s0')).toBe(true);
  });

  it.each<[string, JsonObject, RegExp]>([
    ['an unknown field', { nodename: 'a' }, /"nodename" is not a known field \(did you mean "nodeName"\?\)/],
    ['a relative state dir', { stateDir: 'weft' }, /"stateDir" must be an absolute path/],
    ['a bad node name', { nodeName: 'a b' }, /"nodeName" must be 1 to 253 letters/],
    ['a store without type', { store: {} }, /missing "store\.type"/],
    ['an unknown store', { store: { type: 'consul' } }, /"store\.type" must be "embedded" or "etcd"/],
    ['etcd without endpoints', { store: { type: 'etcd', endpoints: [] } }, /"store\.endpoints" must name at least one etcd member/],
    ['an endpoint without scheme', { store: { type: 'etcd', endpoints: ['10.0.0.1:2379'] } }, /"store\.endpoints\[0\]" must be a URL/],
    ['a certificate without key', { store: { type: 'etcd', endpoints: ['https://a:1'], caFile: '/ca', certFile: '/c' } }, /"certFile" and "keyFile" together/],
    ['TLS over http', { store: { type: 'etcd', endpoints: ['http://a:1'], caFile: '/ca' } }, /must use https:\/\/ with "caFile"/],
    ['a bad prefix', { store: { type: 'etcd', endpoints: ['http://a:1'], prefix: 'weft/' } }, /"store\.prefix" must be a key prefix/],
    ['two underlay choices', { underlay: { interface: 'eth0', reach: '10.0.0.1' } }, /gives "interface" and "reach": choose the underlay one way/],
    ['an interface name with a NUL', { underlay: { interface: 'eth\u00000' } }, /"underlay\.interface" must be an interface name \(interface name contains a NUL byte\)/],
    ['a bad regex', { underlay: { interfaceRegex: '(' } }, /"underlay\.interfaceRegex" is not a regular expression/],
    ['a bad reach address', { underlay: { reach: 'gateway' } }, /"underlay\.reach" must be an IP address/],
    ['a bad public IP', { underlay: { publicIp: '1.2.3' } }, /"underlay\.publicIp" must be an IP address/],
    ['a listen address without port', { listen: '127.0.0.1' }, /"listen" must be HOST:PORT/],
    ['a listen port too large', { listen: '127.0.0.1:70000' }, /"listen" must be HOST:PORT/],
    ['a relative resolv.conf', { dns: { resolvConf: 'resolv.conf' } }, /"dns\.resolvConf" must be an absolute path/],
    ['a bad log level', { logLevel: 'verbose' }, /"logLevel" must be one of debug, info, warn, error/],
    ['a network that is not an object', { network: '10.244.0.0/16' }, /"network" must be an object/],
    ['xDS on the health and metrics address', { xds: { listen: '127.0.0.1:9475' } }, /"xds\.listen" must differ from "listen" \(127\.0\.0\.1:9475/],
    ['a zero reconcile interval', { intervals: { reconcile: 0 } }, /"intervals\.reconcile" must be at least 1/],
    ['a probe interval within the answer timeout', { intervals: { probe: 1 } }, /"intervals\.probe" must be at least 2/],
    ['an interval in ms', { intervals: { firewall: 60_000 } }, /"intervals\.firewall" must be at most 3600/],
    ['an unknown interval', { intervals: { nat: 5 } }, /"intervals\.nat" is not a known field in "intervals"; known fields: reconcile, firewall, probe/],
  ])('refuses %s', (_name, raw, message) => {
    expect(refusal(raw)).toMatch(message);
  });
});

describe('mergeFlags', () => {
  const file: JsonObject = {
    nodeName: 'file-node',
    store: { type: 'etcd', endpoints: ['http://10.0.0.1:2379'], prefix: '/file' },
    underlay: { interface: 'eth0', publicIp: '203.0.113.5' },
  };

  it('overrides the file field by field', () => {
    expect(mergeFlags(file, { nodeName: 'flag-node', etcdPrefix: '/flag' })).toEqual({
      ...file, nodeName: 'flag-node', store: { type: 'etcd', endpoints: ['http://10.0.0.1:2379'], prefix: '/flag' },
    });
  });

  it('replaces the store when a flag picks another type', () => {
    expect(mergeFlags(file, { storePath: '/tmp/leases.json' }).store).toEqual({ type: 'embedded', path: '/tmp/leases.json' });
    expect(mergeFlags({}, { etcdEndpoints: 'http://a:1, http://b:2' }).store).toEqual({ type: 'etcd', endpoints: ['http://a:1', 'http://b:2'] });
  });

  it('replaces the underlay choice but keeps the file\'s public IP unless a flag sets it', () => {
    expect(mergeFlags(file, { ifaceRegex: '^en' }).underlay).toEqual({ interfaceRegex: '^en', publicIp: '203.0.113.5' });
    expect(mergeFlags(file, { publicIp: '198.51.100.1' }).underlay).toEqual({ interface: 'eth0', publicIp: '198.51.100.1' });
  });
});

describe('storeFlagConflict', () => {
  const embedded: JsonObject = { store: { type: 'embedded' } };
  it('lets flags pick or refine a store, or replace the file\'s', () => {
    expect(storeFlagConflict({}, { etcdEndpoints: 'http://a:1', etcdPrefix: '/p' })).toBeUndefined();
    expect(storeFlagConflict(embedded, { store: 'etcd', etcdPrefix: '/p' })).toBeUndefined();
    expect(storeFlagConflict(embedded, { etcdEndpoints: 'http://a:1' })).toBeUndefined();
    expect(storeFlagConflict({ store: { type: 'etcd' } }, { etcdPrefix: '/p' })).toBeUndefined();
    expect(storeFlagConflict({ store: { type: 'etcd' } }, { storePath: '/x' })).toBeUndefined();
  });

  it('names flags meant for the other store type and what picked it', () => {
    expect(storeFlagConflict({}, { etcdPrefix: '/p' })).toBe('--etcd-prefix is for an etcd store, but the store is embedded unless --store etcd');
    expect(storeFlagConflict(embedded, { etcdPrefix: '/p' })).toBe('--etcd-prefix is for an etcd store, but the config file\'s store is "embedded" (--store changes it)');
    expect(storeFlagConflict({}, { store: 'etcd', storePath: '/x' })).toBe('--store-path is for an embedded store, but --store is etcd');
    expect(storeFlagConflict({}, { store: 'embedded', etcdEndpoints: 'http://a:1', etcdPrefix: '/p' })).toBe('--etcd-endpoints and --etcd-prefix are for an etcd store, but --store is embedded');
  });
});

describe('parseConfigFile', () => {
  it('names the file when it is not a JSON object', () => {
    expect(() => parseConfigFile('/etc/weft/weftd.json', '{')).toThrow(/\/etc\/weft\/weftd\.json: /);
    expect(() => parseConfigFile('/etc/weft/weftd.json', '[]')).toThrow(/must hold a JSON object/);
    expect(parseConfigFile('/x', '{"nodeName":"a"}')).toEqual({ nodeName: 'a' });
  });
});

describe('the examples in conf/weftd/', () => {
  it.each(['weftd.json', 'weftd-embedded.json', 'weftd-large.json'])('%s is valid', (name) => {
    const path = new URL(`../conf/weftd/${name}`, import.meta.url);
    const options = parseDaemonOptions(parseConfigFile(name, readFileSync(path, 'utf8')));
    expect(() => parseNetworkConfig(options.network, 'network')).not.toThrow();
  });

  it('weftd-plugins.json runs only the plugin host', () => {
    const options = parseDaemonOptions(parseConfigFile('weftd-plugins.json', readFileSync(new URL('../conf/weftd/weftd-plugins.json', import.meta.url), 'utf8')));
    expect(options).toMatchObject({ overlay: false, plugins: { serve: true } });
  });

  it('the DaemonSet\'s weftd.json is valid', () => {
    const yaml = readFileSync(new URL('../conf/weftd/weftd-daemonset.yaml', import.meta.url), 'utf8');
    // The ConfigMap's block scalar: the lines indented under "weftd.json: |".
    const block = /\n  weftd\.json: \|\n((?: {4}.*\n)+)/.exec(yaml)?.[1];
    expect(block).toBeDefined();
    const options = parseDaemonOptions(parseConfigFile('weftd-daemonset.yaml', block!.replace(/^ {4}/gm, '')));
    expect(options.store.type).toBe('etcd');
    expect(() => parseNetworkConfig(options.network, 'network')).not.toThrow();
  });
});
