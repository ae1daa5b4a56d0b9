import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { planGateways, subnetGateway } from './gateways.ts';

const gw = { isGateway: true, isDefaultGateway: false };
const defaultGw = { isGateway: true, isDefaultGateway: true };

describe('gateway plan', () => {
  it('puts every address on the container interface and keeps IPAM gateways', () => {
    const plan = planGateways({ cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.254' }] }, gw);
    expect(plan.ips).toEqual([{ interface: 2, address: '10.1.0.5/24', gateway: '10.1.0.254' }]);
    expect(plan.bridgeAddresses).toEqual([parseCidr('10.1.0.254/24')]);
    expect(plan.routes).toEqual([]);
  });

  it('gives an address without a gateway its subnet’s first address when isGateway', () => {
    expect(subnetGateway(parseCidr('10.1.2.77/22'))).toBe('10.1.0.1');
    expect(subnetGateway(parseCidr('fd00:1::abcd/64'))).toBe('fd00:1::1');
    const plan = planGateways({ cniVersion: '1.1.0', ips: [{ address: 'fd00:1::9/64' }] }, gw);
    expect(plan.ips[0]!.gateway).toBe('fd00:1::1');
    expect(plan.bridgeAddresses).toEqual([parseCidr('fd00:1::1/64')]);
  });

  it('leaves gateways out, and the bridge without addresses, when not a gateway', () => {
    const plan = planGateways({ cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/24' }] }, { isGateway: false, isDefaultGateway: false });
    expect(plan.ips).toEqual([{ interface: 2, address: '10.1.0.5/24' }]);
    expect(plan.bridgeAddresses).toEqual([]);
  });

  it('adds one default route per family with isDefaultGateway, IPv4 gateways listed first', () => {
    const plan = planGateways(
      { cniVersion: '1.1.0', ips: [{ address: 'fd00::5/64' }, { address: '10.1.0.5/24' }, { address: '10.2.0.5/24' }] },
      defaultGw,
    );
    expect(plan.routes).toEqual([{ dst: '::/0', gw: 'fd00::1' }, { dst: '0.0.0.0/0', gw: '10.1.0.1' }]);
    expect(plan.bridgeAddresses).toEqual([parseCidr('10.1.0.1/24'), parseCidr('10.2.0.1/24'), parseCidr('fd00::1/64')]);
  });

  it('keeps a default route IPAM gave, with a gateway or without one, instead of adding one', () => {
    const routes = [{ dst: '0.0.0.0/0', gw: '10.1.0.254' }, { dst: '::/0' }];
    const plan = planGateways({ cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/24' }, { address: 'fd00::5/64' }], routes }, defaultGw);
    // Without a gateway the route goes via the address's: a second one would be the same route (EEXIST).
    expect(plan.routes).toEqual(routes);
  });
});
