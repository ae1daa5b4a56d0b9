import { describe, expect, it } from 'vitest';
import { Attrs, splitMessages } from './codec.ts';
import { nftAddChain, nftAddRule, nftDeleteChain, nftDeleteRule, nftTransaction, parseChains, parseRules } from './nftables.ts';

// Numbers from linux/netfilter/nfnetlink.h and nf_tables.h.
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWCHAIN = 3;
const NFTA_CHAIN_HOOK = 4;
const NFTA_CHAIN_TYPE = 7;
const NFTA_CHAIN_USERDATA = 12;

function one(message: Buffer) {
  const [m] = splitMessages(message);
  return { ...m!, family: m!.body[0], resId: m!.body.readUInt16BE(2), attrs: new Attrs(m!.body, 4) };
}

describe('nf_tables messages', () => {
  it('frames a transaction with batch begin and end for the nftables subsystem (big-endian resource id)', () => {
    const batch = nftTransaction([nftDeleteChain('inet', 'weft', 'c')]);
    expect(batch.map((r) => one(r.message)).map((m) => [m.type, m.resId])).toEqual([
      [0x10, NFNL_SUBSYS_NFTABLES],
      [(NFNL_SUBSYS_NFTABLES << 8) | 5, 0],
      [0x11, NFNL_SUBSYS_NFTABLES],
    ]);
  });

  it('declares a netdev base chain: hook number, priority and device big-endian, type, nft’s comment TLV', () => {
    const m = one(nftAddChain('netdev', 'weft', 'spoof-x', { type: 'filter', hook: 'ingress', priority: -300, device: 'veth1' }, 'hi').message);
    expect([m.type, m.family]).toEqual([(NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN, 5]);
    const hook = m.attrs.nested(NFTA_CHAIN_HOOK)!;
    expect(hook.bytes(1)!.readUInt32BE(0)).toBe(0);
    expect(hook.bytes(2)!.readInt32BE(0)).toBe(-300);
    expect(hook.string(3)).toBe('veth1');
    expect(m.attrs.string(NFTA_CHAIN_TYPE)).toBe('filter');
    // libnftnl's userdata: type 0 (comment), length with the NUL, the text, NUL.
    expect([...m.attrs.bytes(NFTA_CHAIN_USERDATA)!]).toEqual([0, 3, 0x68, 0x69, 0]);
  });

  it('refuses what the kernel would misread: a hook the family lacks, a bad device name, a long comment', () => {
    expect(() => nftAddChain('netdev', 't', 'c', { type: 'filter', hook: 'postrouting', priority: 0 })).toThrow(/no postrouting hook/);
    expect(() => nftAddChain('netdev', 't', 'c', { type: 'filter', hook: 'ingress', priority: 0, device: 'a/b' })).toThrow(/invalid interface name/);
    expect(() => nftAddChain('inet', 't', 'c', undefined, 'x'.repeat(255))).toThrow(/longer than 254/);
  });

  it('encodes a verdict as a nested immediate with the signed code (return is -5)', () => {
    const rule = one(nftAddRule('inet', 't', 'c', [{ verdict: 'return' }]).message);
    const element = rule.attrs.nested(4)!.nested(1)!;
    expect(element.string(1)).toBe('immediate');
    const code = element.nested(2)!.nested(2)!.nested(2)!.bytes(1)!;
    expect(code.readInt32BE(0)).toBe(-5);
  });

  // A dump answers with the same attributes the requests carry; the kernel tests read real dumps.
  it('reads chains from a dump: family, table, name, and how a base chain is hooked', () => {
    const plain = nftAddChain('inet', 'weft', 'masq-1').message;
    const base = nftAddChain('netdev', 'weft', 'spoof-1', { type: 'filter', hook: 'ingress', priority: -300, device: 'veth1' }).message;
    expect(parseChains(splitMessages(Buffer.concat([plain, base])))).toEqual([
      { family: 'inet', table: 'weft', name: 'masq-1' },
      { family: 'netdev', table: 'weft', name: 'spoof-1', type: 'filter', hook: 'ingress', priority: -300 },
    ]);
  });

  it('reads rules from a dump with their 64-bit handles', () => {
    const reply = nftDeleteRule('ip', 'filter', 'FORWARD', 2n ** 40n + 7n).message;
    expect(parseRules(splitMessages(reply))).toEqual([{ family: 'ip', table: 'filter', chain: 'FORWARD', handle: 2n ** 40n + 7n }]);
  });
});
