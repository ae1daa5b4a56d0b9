import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../lib/json/json-value.ts';
import { catchCniError } from '../../lib/cni/testing/catch-cni-error.ts';
import { bridgeConfig } from './bridge-config.ts';
import { lease, overlayConf } from './testing/fixtures.ts';

describe('bridgeConfig', () => {
  it('makes the bridge the gateway of the lease subnet, routes the overlay through it and uses the overlay MTU', () => {
    expect(bridgeConfig(overlayConf(), lease())).toEqual({
      cniVersion: '1.0.0', name: 'weft', type: 'bridge', bridge: 'weft0', isGateway: true, ipMasq: false, mtu: 1450,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.3.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] },
    });
  });

  it('masquerades on the bridge only when weftd does not', () => {
    const text = 'WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_MTU=1400\nWEFT_IPMASQ=false\n';
    expect(bridgeConfig(overlayConf(), lease(text)).ipMasq).toBe(true);
    expect(bridgeConfig(overlayConf({ delegate: { ipMasq: true } }), lease()).ipMasq).toBe(true);
  });

  it('adds the IPv6 subnet and network in dual stack', () => {
    const text = 'WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_IPV6_NETWORK=fd00:10:244::/56\n'
      + 'WEFT_IPV6_SUBNET=fd00:10:244:3::1/64\nWEFT_MTU=1430\nWEFT_IPMASQ=true\n';
    expect(bridgeConfig(overlayConf({ ipamDataDir: '/tmp/ipam' }), lease(text)).ipam).toEqual({
      type: 'host-local', dataDir: '/tmp/ipam',
      ranges: [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00:10:244:3::/64' }]],
      routes: [{ dst: '10.244.0.0/16' }, { dst: 'fd00:10:244::/56' }],
    });
  });

  it('lays delegate fields over the generated ones and passes runtimeConfig and args on', () => {
    const conf = overlayConf({ delegate: { bridge: 'wt-br', hairpinMode: true }, runtimeConfig: { mac: '02:00:00:00:00:01' }, args: { cni: { ips: ['10.244.3.9'] } } });
    const out = bridgeConfig(conf, lease());
    expect(out).toMatchObject({ bridge: 'wt-br', hairpinMode: true, type: 'bridge', runtimeConfig: { mac: '02:00:00:00:00:01' }, args: { cni: { ips: ['10.244.3.9'] } } });
  });
});

describe('parseOverlayConf', () => {
  it('takes the daemon\'s defaults', () => {
    expect(overlayConf().overlay).toEqual({
      subnetFile: '/run/weft/subnet.env', dataDir: '/var/lib/cni/weft/overlay', socket: '/run/weft/weftd.sock', delegate: {},
    });
  });

  it('refuses delegate fields the overlay sets, and relative paths, as code 7', () => {
    const bads: JsonObject[] = [{ delegate: { ipam: {} } }, { delegate: { mtu: 9000 } }, { delegate: { type: 'macvlan' } }, { subnetFile: 'subnet.env' },
      { socket: 3 }, { delegate: 'bridge' }];
    for (const bad of bads) {
      expect(catchCniError(() => overlayConf(bad)).code).toBe(7);
    }
  });

  it('checks the other delegate fields as the bridge does, naming them as the user wrote them', () => {
    const bads: Array<[JsonObject, string]> = [
      [{ bridge: 'a-name-longer-than-15' }, '"delegate.bridge" must be an interface name'],
      [{ bridge: 'hb\u0000br' }, '"delegate.bridge" must be an interface name (interface name contains a NUL byte)'],
      [{ hairpinMode: 'yes' }, '"delegate.hairpinMode" must be true or false'],
      [{ vlan: 5000 }, '"delegate.vlan" must be at most 4094'],
    ];
    for (const [delegate, details] of bads) {
      expect(catchCniError(() => overlayConf({ delegate })), details).toMatchObject({ code: 7, details: expect.stringContaining(details) });
    }
  });
});
