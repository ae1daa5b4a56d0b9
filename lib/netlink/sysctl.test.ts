import { describe, expect, it } from 'vitest';
import { sysctlPath } from './sysctl.ts';

describe('sysctlPath', () => {
  it('accepts dotted and slashed keys under net', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath('net/ipv4/conf/br0.100/forwarding')).toBe('/proc/sys/net/ipv4/conf/br0.100/forwarding');
  });

  it.each(['kernel.hostname', 'net/../kernel/hostname', 'net//x', 'net', 'net/ipv4/\0'])('refuses %j', (key) => {
    expect(() => sysctlPath(key)).toThrow(TypeError);
  });
});
