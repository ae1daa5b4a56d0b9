import { describe, expect, it } from 'vitest';
import { parseCidr } from '../ip/cidr.ts';
import { containerMasqueradeRules } from './masquerade.ts';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('containerMasqueradeRules', () => {
  // The expected expressions are what `nft --debug=netlink` shows nft 1.0.6 compiling
  // `ip saddr 10.199.0.2 ip daddr != 10.199.0.0/24 ip daddr != 224.0.0.0/4 masquerade` to.
  it('compiles an IPv4 address as nft does: whole-byte prefixes shortened, others masked', () => {
    expect(containerMasqueradeRules([parseCidr('10.199.0.2/24')])).toEqual([[
      { meta: 'nfproto' },
      { cmp: { op: 'eq', data: bytes(2) } },
      { payload: { base: 'network', offset: 12, length: 4 } },
      { cmp: { op: 'eq', data: bytes(10, 199, 0, 2) } },
      { payload: { base: 'network', offset: 16, length: 3 } },
      { cmp: { op: 'neq', data: bytes(10, 199, 0) } },
      { payload: { base: 'network', offset: 16, length: 4 } },
      { bitwise: { mask: bytes(0xf0, 0, 0, 0), xor: bytes(0, 0, 0, 0) } },
      { cmp: { op: 'neq', data: bytes(0xe0, 0, 0, 0) } },
      { masq: {} },
    ]]);
  });

  it('compiles an IPv6 address as nft does, host bits of the subnet cleared', () => {
    const [rule] = containerMasqueradeRules([parseCidr('fd00:199::2/64')]);
    expect(rule!.slice(0, 2)).toEqual([{ meta: 'nfproto' }, { cmp: { op: 'eq', data: bytes(10) } }]);
    expect(rule!.slice(2)).toEqual([
      { payload: { base: 'network', offset: 8, length: 16 } },
      { cmp: { op: 'eq', data: bytes(0xfd, 0, 0x01, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2) } },
      { payload: { base: 'network', offset: 24, length: 8 } },
      { cmp: { op: 'neq', data: bytes(0xfd, 0, 0x01, 0x99, 0, 0, 0, 0) } },
      { payload: { base: 'network', offset: 24, length: 1 } },
      { cmp: { op: 'neq', data: bytes(0xff) } },
      { masq: {} },
    ]);
  });

  it('masks a prefix that is not whole bytes', () => {
    const [rule] = containerMasqueradeRules([parseCidr('10.199.3.9/21')]);
    expect(rule!.slice(4, 7)).toEqual([
      { payload: { base: 'network', offset: 16, length: 4 } },
      { bitwise: { mask: bytes(255, 255, 248, 0), xor: bytes(0, 0, 0, 0) } },
      { cmp: { op: 'neq', data: bytes(10, 199, 0, 0) } },
    ]);
  });

  it('has no rules for no addresses', () => {
    expect(containerMasqueradeRules([])).toEqual([]);
  });
});
