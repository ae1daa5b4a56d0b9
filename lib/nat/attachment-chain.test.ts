import { describe, expect, it } from 'vitest';
import { AttachmentChains } from './attachment-chain.ts';

const chains = new AttachmentChains({ family: 'inet', prefix: 'test', purpose: 'testing' });
const hook = { type: 'nat', hook: 'postrouting', priority: 100 } as const;
const key = { network: 'net1', containerId: 'c1', ifName: 'eth0' };

describe('AttachmentChains.name', () => {
  it('is stable and names the network by a shared prefix', () => {
    const name = chains.name(key);
    expect(name).toMatch(/^test-[0-9a-f]{16}-[0-9a-f]{16}$/);
    expect(chains.name({ ...key })).toBe(name);
    const sibling = chains.name({ ...key, containerId: 'c2' });
    expect(sibling.slice(0, 22)).toBe(name.slice(0, 22));
  });

  it('differs for every part of the key, with no ambiguity between parts', () => {
    const names = [
      key,
      { ...key, network: 'net2' },
      { ...key, containerId: 'c2' },
      { ...key, ifName: 'eth1' },
      { network: 'net1', containerId: '0c1', ifName: 'eth' },
    ].map((k) => chains.name(k));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('AttachmentChains changes', () => {
  const name = chains.name(key);
  const operations = (changes: Array<{ operation: () => string }>) => changes.map((c) => c.operation());

  it('declares, empties and fills the chain in one transaction', () => {
    expect(operations(chains.replaceChanges(key, hook, [[{ masq: {} }]]))).toEqual([
      'add table inet weft',
      `add chain inet weft ${name} (nat hook postrouting)`,
      `flush chain inet weft ${name}`,
      `add rule to inet weft ${name}`,
    ]);
  });

  it('deletes the chain idempotently, without needing its hook', () => {
    expect(operations(chains.deleteChanges(key))).toEqual(['add table inet weft', `add chain inet weft ${name}`, `delete chain inet weft ${name}`]);
  });

  it('keeps the comment printable and free of quotes, whatever the key holds', () => {
    const [, declare] = chains.replaceChanges({ ...key, containerId: 'a"; flush ruleset; "\n' }, hook, []);
    expect(declare!.message.toString('latin1')).toContain('weft testing; net: net1, if: eth0, id: a?; flush ruleset; ??\0');
  });
});

describe('AttachmentChains.stale', () => {
  it('selects the network’s chains that no valid attachment owns', () => {
    const keep = chains.name(key);
    const gone = chains.name({ ...key, containerId: 'gone' });
    const otherNet = chains.name({ ...key, network: 'net2', containerId: 'gone' });
    const listed = [keep, gone, otherNet, 'overlay-postrouting'];
    expect(chains.stale('net1', [{ containerID: 'c1', ifname: 'eth0' }], listed)).toEqual([gone]);
    expect(chains.stale('net1', [], listed)).toEqual([keep, gone]);
  });
});
