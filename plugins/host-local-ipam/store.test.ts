import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { namesHeldBy, namesToRelease, ownerText, parseOwnerText, staleAllocations } from './store.ts';

describe('ownership rules', () => {
  const entries: [string, string][] = [
    ['10.0.0.2', 'c1\r\neth0'], ['10.0.0.3', ' c1\r\neth0\n'], ['10.0.0.4', 'c1\r\neth1'], ['10.0.0.5', 'c1'],
    ['10.0.0.6', 'c10\r\neth0'], ['10.0.0.7', 'garbage'], ['10.0.0.8', ''],
  ];
  it('writes and reads the reference text', () => {
    expect(ownerText({ containerId: ' c1 ', ifname: 'eth0' })).toBe('c1\r\neth0');
    expect(parseOwnerText('c1\r\neth0\n')).toEqual({ containerId: 'c1', ifname: 'eth0' });
    expect(parseOwnerText('c1')).toEqual({ containerId: 'c1' });
  });
  it('matches trimmed text, current and old format apart', () => {
    expect(namesHeldBy(entries, { containerId: 'c1', ifname: 'eth0' }))
      .toEqual({ current: ['10.0.0.2', '10.0.0.3'], old: ['10.0.0.5'], ownerless: ['10.0.0.8'] });
  });
  it('releases old-format allocations only when the attachment holds none, and any without an owner', () => {
    expect(namesToRelease(namesHeldBy(entries, { containerId: 'c1', ifname: 'eth0' }))).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.8']);
    expect(namesToRelease(namesHeldBy(entries, { containerId: 'c1', ifname: 'eth9' }))).toEqual(['10.0.0.5', '10.0.0.8']);
  });
  it('finds stale allocations for GC', () => {
    const allocations = entries.map(([ip, text]) => ({ ip: parseIp(ip), ...parseOwnerText(text) }));
    const stale = staleAllocations(allocations, [{ containerId: 'c1', ifname: 'eth0' }]);
    expect(stale.map((a) => formatIp(a.ip))).toEqual(['10.0.0.4', '10.0.0.6', '10.0.0.7', '10.0.0.8']);
    expect(staleAllocations(allocations, []).length).toBe(entries.length);
  });
});
