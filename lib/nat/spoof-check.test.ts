import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../cni/errors.ts';
import { addMacSpoofCheck, macSpoofCheckChain } from './spoof-check.ts';

describe('macSpoofCheckChain', () => {
  it('hooks the port’s ingress and drops frames whose source MAC is not the container’s', () => {
    // As `nft --debug=netlink` shows nft compiling `ether saddr != 02:42:0a:01:00:05 drop` in a netdev chain.
    expect(macSpoofCheckChain('veth1a2b3c4d', '02:42:0A:01:00:05')).toEqual({
      hook: { type: 'filter', hook: 'ingress', priority: -300, device: 'veth1a2b3c4d' },
      rules: [[
        { meta: 'iiftype' },
        { cmp: { op: 'eq', data: new Uint8Array(Uint16Array.of(1).buffer) } },
        { payload: { base: 'link', offset: 6, length: 6 } },
        { cmp: { op: 'neq', data: Buffer.from([0x02, 0x42, 0x0a, 0x01, 0x00, 0x05]) } },
        { verdict: 'drop' },
      ]],
    });
  });

  it.each([
    ['veth/x', '02:42:0a:01:00:05'],
    ['veth x', '02:42:0a:01:00:05'],
    ['', '02:42:0a:01:00:05'],
    ['a-name-longer-than-15', '02:42:0a:01:00:05'],
    ['veth0', '02:42:0a:01:00'],
    ['veth0', '02-42-0a-01-00-05'],
  ])('refuses %j with MAC %j', (ifName, mac) => {
    expect(() => macSpoofCheckChain(ifName, mac)).toThrow(CniError);
  });

  it('fails on bad input before it opens a socket', () => {
    const check = { network: 'n', containerId: 'c', ifName: 'eth0', hostIfName: 'veth/x', mac: '02:42:0a:01:00:05' };
    // A namespace that does not exist: reaching the kernel would fail with another code.
    expect(() => addMacSpoofCheck(check, { netns: '/nonexistent/netns' })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidNetworkConfig }));
  });
});
