import { describe, expect, it } from 'vitest';
import { parseCidr } from '../ip/cidr.ts';
import type { NftChain, NftListing, NftRule } from './nft.ts';
import { overlayCommands, overlayMasqueradeRules, planForwardAccept } from './overlay.ts';

const v4 = parseCidr('10.244.0.0/16');
const v6 = parseCidr('fd00:244::/56');

function forwardChain(family: string, table: string, name: string, policy: string): NftChain {
  return { family, table, name, handle: 1, type: 'filter', hook: 'forward', prio: 0, policy };
}

function rule(chain: NftChain, handle: number, comment?: string): NftRule {
  return { family: chain.family, table: chain.table, chain: chain.name, handle, ...(comment ? { comment } : {}) };
}

const ipv4SaddrAccept = {
  comment: 'weft overlay: accept from 10.244.0.0/16',
  expr: [
    { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.244.0.0', len: 16 } } } },
    { accept: null },
  ],
};

describe('overlayMasqueradeRules', () => {
  it('leaves overlay-to-overlay and multicast alone and masquerades the rest', () => {
    const [inside, multicast, out] = overlayMasqueradeRules([parseCidr('10.244.3.1/16')]);
    const match = (field: string, addr: string, len: number) => ({
      match: { op: '==', left: { payload: { protocol: 'ip', field } }, right: { prefix: { addr, len } } },
    });
    expect(inside).toEqual([match('saddr', '10.244.0.0', 16), match('daddr', '10.244.0.0', 16), { return: null }]);
    expect(multicast).toEqual([match('saddr', '10.244.0.0', 16), match('daddr', '224.0.0.0', 4), { return: null }]);
    expect(out).toEqual([match('saddr', '10.244.0.0', 16), { masquerade: { flags: 'fully-random' } }]);
  });

  it('writes IPv6 rules with ip6 payloads and ff00::/8', () => {
    const [, multicast] = overlayMasqueradeRules([v6]);
    expect(JSON.stringify(multicast)).toContain('"protocol":"ip6","field":"daddr"}},"right":{"prefix":{"addr":"ff00::","len":8}}');
  });
});

describe('planForwardAccept', () => {
  const dropV4 = forwardChain('ip', 'filter', 'FORWARD', 'drop');
  const dropInet = forwardChain('inet', 'filter', 'forward', 'drop');
  const acceptV6 = forwardChain('ip6', 'filter', 'FORWARD', 'accept');

  it('appends accepts to drop-policy forward chains of the fitting families only', () => {
    const listing: NftListing = { chains: [dropV4, dropInet, acceptV6], rules: [] };
    const commands = planForwardAccept(listing, [v4, v6]) as { add: { rule: { family: string; comment: string } } }[];
    expect(commands.map((c) => `${c.add.rule.family} ${c.add.rule.comment}`)).toEqual([
      'ip weft overlay: accept from 10.244.0.0/16',
      'ip weft overlay: accept to 10.244.0.0/16',
      'inet weft overlay: accept from 10.244.0.0/16',
      'inet weft overlay: accept to 10.244.0.0/16',
      'inet weft overlay: accept from fd00:244::/56',
      'inet weft overlay: accept to fd00:244::/56',
    ]);
    expect(commands[0]).toEqual({ add: { rule: { family: 'ip', table: 'filter', chain: 'FORWARD', ...ipv4SaddrAccept } } });
  });

  it('keeps what is there, deletes duplicates, stale rules and rules in chains that no longer drop', () => {
    const listing: NftListing = {
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
    expect(planForwardAccept(listing, [v4, v6])).toEqual([
      { delete: { rule: { family: 'ip', table: 'filter', chain: 'FORWARD', handle: 11 } } },
      { delete: { rule: { family: 'ip', table: 'filter', chain: 'FORWARD', handle: 12 } } },
      { add: { rule: { family: 'ip', table: 'filter', chain: 'FORWARD', comment: 'weft overlay: accept to 10.244.0.0/16', expr: expect.any(Array) } } },
      { delete: { rule: { family: 'ip6', table: 'filter', chain: 'FORWARD', handle: 20 } } },
    ]);
  });

  it('ignores chains on other hooks and of other types', () => {
    const nat: NftChain = { ...dropV4, type: 'nat', name: 'n' };
    const input: NftChain = { ...dropV4, hook: 'input', name: 'i' };
    const bridge: NftChain = { ...dropV4, family: 'bridge', name: 'b' };
    expect(planForwardAccept({ chains: [nat, input, bridge], rules: [] }, [v4])).toEqual([]);
  });
});

describe('overlayCommands', () => {
  it('replaces the masquerade chain in the same transaction as the forward plan', () => {
    const commands = overlayCommands({ chains: [], rules: [] }, { networks: [v4], masquerade: true });
    expect(commands.slice(0, 3)).toEqual([
      { add: { table: { family: 'inet', name: 'weft' } } },
      { add: { chain: { family: 'inet', table: 'weft', name: 'overlay-postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } } },
      { flush: { chain: { family: 'inet', table: 'weft', name: 'overlay-postrouting' } } },
    ]);
    expect(commands).toHaveLength(6);
  });

  it('deletes the chain when there is no network', () => {
    expect(overlayCommands({ chains: [], rules: [] }, { networks: [], masquerade: true }).slice(1)).toEqual([
      { add: { chain: { family: 'inet', table: 'weft', name: 'overlay-postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } } },
      { delete: { chain: { family: 'inet', table: 'weft', name: 'overlay-postrouting' } } },
    ]);
  });

  it('without masquerade deletes the chain and still plans the forward accepts', () => {
    const listing = { chains: [forwardChain('ip', 'filter', 'FORWARD', 'drop')], rules: [] };
    const commands = overlayCommands(listing, { networks: [v4], masquerade: false });
    expect(commands.slice(1, 3)).toEqual([
      { add: { chain: { family: 'inet', table: 'weft', name: 'overlay-postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } } },
      { delete: { chain: { family: 'inet', table: 'weft', name: 'overlay-postrouting' } } },
    ]);
    expect(commands.slice(3)).toEqual(planForwardAccept(listing, [v4]));
    expect(commands.slice(3)).toHaveLength(2);
  });

  it('refuses two networks of one family', () => {
    expect(() => overlayCommands({ chains: [], rules: [] }, { networks: [v4, parseCidr('10.9.0.0/16')], masquerade: true })).toThrow(TypeError);
  });
});
