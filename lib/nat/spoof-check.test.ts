import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../cni/errors.ts';
import { addMacSpoofCheck, macSpoofCheckChain } from './spoof-check.ts';

describe('macSpoofCheckChain', () => {
  it('hooks the port’s ingress and drops frames whose source MAC is not the container’s', () => {
    expect(macSpoofCheckChain('veth1a2b3c4d', '02:42:0A:01:00:05')).toEqual({
      hook: 'type filter hook ingress device "veth1a2b3c4d" priority -300;',
      rules: ['ether saddr != 02:42:0a:01:00:05 drop'],
    });
  });

  it.each([
    ['veth*', '02:42:0a:01:00:05'],
    ['veth"x', '02:42:0a:01:00:05'],
    ['a-name-longer-than-15', '02:42:0a:01:00:05'],
    ['veth0', '02:42:0a:01:00'],
    ['veth0', '02-42-0a-01-00-05'],
  ])('refuses %j with MAC %j', (ifName, mac) => {
    expect(() => macSpoofCheckChain(ifName, mac)).toThrow(CniError);
  });

  it('fails before running nft on bad input', async () => {
    const check = { network: 'n', containerId: 'c', ifName: 'eth0', hostIfName: 'veth*', mac: '02:42:0a:01:00:05' };
    const err = await addMacSpoofCheck(check, { command: ['/nonexistent/nft'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(ErrorCode.InvalidNetworkConfig);
  });
});
