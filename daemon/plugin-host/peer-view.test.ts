import { describe, expect, it } from 'vitest';
import { mountDifference, mountTable, viewDifference } from './peer-view.ts';

// Two copies of one mount namespace as `ip netns exec` makes them: other mount IDs, the copy a slave of
// the host's mounts, /sys remounted, and a network namespace bound at /run/netns that reached each copy at
// another moment (so at another place in the list).
const host = [
  '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
  '23 22 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw',
  '24 22 0:22 / /run rw,nosuid shared:8 - tmpfs tmpfs rw,mode=755',
  '25 24 0:4 net:[4026532173] /run/netns/a rw shared:9 - nsfs nsfs rw',
  '',
].join('\n');
const copy = [
  '301 300 254:1 / / rw,relatime master:1 - ext4 /dev/vda1 rw',
  '302 301 0:22 / /run rw,nosuid master:8 - tmpfs tmpfs rw,mode=755',
  '305 302 0:4 net:[4026532173] /run/netns/a rw master:9 - nsfs nsfs rw',
  '306 301 0:21 / /sys rw,nosuid - sysfs sysfs rw',
  '',
].join('\n');

describe('mount tables', () => {
  it('are equal for two copies of one namespace: IDs, propagation and order of points left out', () => {
    expect(mountTable(copy)).toEqual(mountTable(host));
    expect(mountDifference(mountTable(host), mountTable(copy))).toBeUndefined();
  });

  it('differ by a mount of its own, another filesystem at a place, or other options', () => {
    const own = `${copy}310 302 0:50 / /var/lib/cni rw - tmpfs tmpfs rw\n`;
    expect(mountDifference(mountTable(host), mountTable(own))).toMatch(/weftd has "none", the caller "\/var\/lib\/cni 0:50/);
    const readOnly = copy.replace('/run rw,nosuid', '/run ro,nosuid');
    expect(mountDifference(mountTable(host), mountTable(readOnly))).toMatch(/\/run 0:22 \/ ro,nosuid/);
  });

  it('keep the stacking order of mounts on one point', () => {
    const stacked = (first: string, second: string) => mountTable(`1 0 0:1 / /x rw - ${first} a rw\n2 0 0:2 / /x rw - ${second} b rw\n`);
    expect(stacked('tmpfs', 'ext4')).not.toEqual(stacked('ext4', 'tmpfs'));
  });

  it('refuse a line they cannot read', () => {
    expect(() => mountTable('1 0 0:1 / /x rw shared:1 tmpfs a rw\n')).toThrow(/unreadable/);
  });
});

describe('viewDifference', () => {
  it('finds none for this very process, and a reason for a process that is not there', () => {
    expect(viewDifference(process.pid)).toBeUndefined();
    expect(viewDifference(0x3fffffff)).toMatch(/cannot be read/);
  });
});
