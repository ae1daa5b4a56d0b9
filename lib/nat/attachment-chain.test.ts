import { describe, expect, it } from 'vitest';
import { AttachmentChains } from './attachment-chain.ts';

const chains = new AttachmentChains({ family: 'inet', prefix: 'test', purpose: 'testing' });
const hook = 'type nat hook postrouting priority srcnat;';
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

describe('AttachmentChains scripts', () => {
  const name = chains.name(key);

  it('declares, empties and fills the chain in one script', () => {
    expect(chains.replaceScript(key, hook, ['ip saddr 10.0.0.2 masquerade'])).toBe(
      'add table inet weft\n' +
        `add chain inet weft ${name} { type nat hook postrouting priority srcnat; comment "weft testing; net: net1, if: eth0, id: c1"; }\n` +
        `flush chain inet weft ${name}\n` +
        `add rule inet weft ${name} ip saddr 10.0.0.2 masquerade\n`,
    );
  });

  it('deletes the chain idempotently, without needing its hook', () => {
    expect(chains.deleteScript(key)).toBe(`add table inet weft\nadd chain inet weft ${name}\ndelete chain inet weft ${name}\n`);
  });

  it('keeps hostile key text out of the script syntax', () => {
    const script = chains.replaceScript({ ...key, containerId: 'a"; flush ruleset; "\n' }, hook, ['accept']);
    expect(script.split('\n')).toHaveLength(5);
    expect(script).toContain('id: a?; flush ruleset; ??"; }');
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
