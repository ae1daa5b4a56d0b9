import { describe, expect, it } from 'vitest';
import { parseCidr } from '../ip/cidr.ts';
import type { NftChainInfo, NftFamily, NftRuleInfo } from '../netlink/nftables.ts';
import type { NftRuleset } from './nftables.ts';
import { forwardAcceptRule, overlayChanges, overlayMasqueradeRules, planForwardAccept, type ForwardChange } from './overlay.ts';

const v4 = parseCidr('10.244.0.0/16');
const v6 = parseCidr('fd00:244::/56');
const bytes = (...b: number[]) => Uint8Array.from(b);

function forwardChain(family: NftFamily, table: string, name: string, policy: 'accept' | 'drop'): NftChainInfo {
  return { family, table, name, type: 'filter', hook: 'forward', priority: 0, policy };
}

function rule(chain: NftChainInfo, handle: number, comment?: string): NftRuleInfo {
  return { family: chain.family, table: chain.table, chain: chain.name, handle: BigInt(handle), ...(comment ? { comment } : {}) };
}

/** A plan in words: `family table chain: add <comment>` or `…: delete <handle>`. */
function words(changes: ForwardChange[]): string[] {
  return changes.map((c) =>
    'add' in c
      ? `${c.add.chain.family} ${c.add.chain.table} ${c.add.chain.name}: add ${c.add.accept.comment}`
      : `${c.delete.chain.family} ${c.delete.chain.table} ${c.delete.chain.name}: delete ${c.delete.handle}`,
  );
}

describe('overlayMasqueradeRules', () => {
  it('leaves overlay-to-overlay and multicast alone and masquerades the rest, fully random', () => {
    const [inside, multicast, out] = overlayMasqueradeRules([parseCidr('10.244.3.1/16')]);
    const fromOverlay = [
      { meta: 'nfproto' },
      { cmp: { op: 'eq', data: bytes(2) } },
      { payload: { base: 'network', offset: 12, length: 2 } },
      { cmp: { op: 'eq', data: bytes(10, 244) } },
    ];
    expect(inside).toEqual([...fromOverlay, { payload: { base: 'network', offset: 16, length: 2 } }, { cmp: { op: 'eq', data: bytes(10, 244) } }, { verdict: 'return' }]);
    expect(multicast!.slice(4)).toEqual([
      { payload: { base: 'network', offset: 16, length: 4 } },
      { bitwise: { mask: bytes(0xf0, 0, 0, 0), xor: bytes(0, 0, 0, 0) } },
      { cmp: { op: 'eq', data: bytes(0xe0, 0, 0, 0) } },
      { verdict: 'return' },
    ]);
    expect(out).toEqual([...fromOverlay, { masq: { fullyRandom: true } }]);
  });

  it('writes IPv6 rules with the IPv6 header’s offsets and ff00::/8', () => {
    const [, multicast] = overlayMasqueradeRules([v6]);
    expect(multicast!.slice(0, 3)).toEqual([{ meta: 'nfproto' }, { cmp: { op: 'eq', data: bytes(10) } }, { payload: { base: 'network', offset: 8, length: 7 } }]);
    expect(multicast!.slice(4, 6)).toEqual([{ payload: { base: 'network', offset: 24, length: 1 } }, { cmp: { op: 'eq', data: bytes(0xff) } }]);
  });
});

describe('forwardAcceptRule', () => {
  const accept = { family: 4 as const, comment: 'c', field: 'saddr' as const, net: v4 };

  it('checks the address family first only in an inet table, as nft does', () => {
    expect(forwardAcceptRule('ip', accept)).toEqual([
      { payload: { base: 'network', offset: 12, length: 2 } },
      { cmp: { op: 'eq', data: bytes(10, 244) } },
      { verdict: 'accept' },
    ]);
    expect(forwardAcceptRule('inet', accept).slice(0, 2)).toEqual([{ meta: 'nfproto' }, { cmp: { op: 'eq', data: bytes(2) } }]);
  });
});

describe('planForwardAccept', () => {
  const dropV4 = forwardChain('ip', 'filter', 'FORWARD', 'drop');
  const dropInet = forwardChain('inet', 'filter', 'forward', 'drop');
  const acceptV6 = forwardChain('ip6', 'filter', 'FORWARD', 'accept');

  it('appends accepts to drop-policy forward chains of the fitting families only', () => {
    expect(words(planForwardAccept({ chains: [dropV4, dropInet, acceptV6], rules: [] }, [v4, v6]))).toEqual([
      'ip filter FORWARD: add weft overlay: accept from 10.244.0.0/16',
      'ip filter FORWARD: add weft overlay: accept to 10.244.0.0/16',
      'inet filter forward: add weft overlay: accept from 10.244.0.0/16',
      'inet filter forward: add weft overlay: accept to 10.244.0.0/16',
      'inet filter forward: add weft overlay: accept from fd00:244::/56',
      'inet filter forward: add weft overlay: accept to fd00:244::/56',
    ]);
  });

  it('keeps what is there, deletes duplicates, stale rules and rules in chains that no longer drop', () => {
    const ruleset: NftRuleset = {
      chains: [dropV4, acceptV6, forwardChain('inet', 'weft', 'masq-x', 'accept')],
      rules: [
        rule(dropV4, 10, 'weft overlay: accept from 10.244.0.0/16'),
        rule(dropV4, 11, 'weft overlay: accept from 10.244.0.0/16'),
        rule(dropV4, 12, 'weft overlay: accept to 10.99.0.0/16'),
        rule(dropV4, 13, 'the administrator’s own'),
        rule(dropV4, 14),
        rule(acceptV6, 20, 'weft overlay: accept to fd00:244::/56'),
      ],
    };
    expect(words(planForwardAccept(ruleset, [v4, v6]))).toEqual([
      'ip filter FORWARD: delete 11',
      'ip filter FORWARD: delete 12',
      'ip filter FORWARD: add weft overlay: accept to 10.244.0.0/16',
      'ip6 filter FORWARD: delete 20',
    ]);
  });

  it('removes every rule of ours when there is no network', () => {
    const ruleset: NftRuleset = { chains: [dropV4], rules: [rule(dropV4, 10, 'weft overlay: accept from 10.244.0.0/16')] };
    expect(words(planForwardAccept(ruleset, []))).toEqual(['ip filter FORWARD: delete 10']);
  });

  it('ignores chains on other hooks and of other types', () => {
    const nat: NftChainInfo = { ...dropV4, type: 'nat', name: 'n' };
    const input: NftChainInfo = { ...dropV4, hook: 'input', name: 'i' };
    const bridge: NftChainInfo = { ...dropV4, family: 'bridge', name: 'b' };
    expect(planForwardAccept({ chains: [nat, input, bridge], rules: [] }, [v4])).toEqual([]);
  });
});

describe('overlayChanges', () => {
  const operations = (ruleset: NftRuleset, networks = [v4], masquerade = true) =>
    overlayChanges(ruleset, { networks, masquerade }).map((r) => r.operation());

  it('replaces the masquerade chain in the same transaction as the forward plan', () => {
    expect(operations({ chains: [], rules: [] })).toEqual([
      'add table inet weft',
      'add chain inet weft overlay-postrouting (nat hook postrouting)',
      'flush chain inet weft overlay-postrouting',
      'add rule to inet weft overlay-postrouting',
      'add rule to inet weft overlay-postrouting',
      'add rule to inet weft overlay-postrouting',
    ]);
  });

  it('deletes the chain when there is no network, or no masquerade, and still plans the forward accepts', () => {
    const ruleset = { chains: [forwardChain('ip', 'filter', 'FORWARD', 'drop')], rules: [] };
    const deleted = ['add table inet weft', 'add chain inet weft overlay-postrouting', 'delete chain inet weft overlay-postrouting'];
    expect(operations({ chains: [], rules: [] }, [])).toEqual(deleted);
    expect(operations(ruleset, [v4], false)).toEqual([
      ...deleted,
      'add rule to ip filter FORWARD (weft overlay: accept from 10.244.0.0/16)',
      'add rule to ip filter FORWARD (weft overlay: accept to 10.244.0.0/16)',
    ]);
  });

  it('refuses two networks of one family', () => {
    expect(() => operations({ chains: [], rules: [] }, [v4, parseCidr('10.9.0.0/16')])).toThrow(TypeError);
  });
});
