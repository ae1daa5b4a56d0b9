import { spawnSync } from 'node:child_process';
import {
  existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../lib/ip/address.ts';
import { DiskStore, storeDir, storeWriteProblem } from './disk-store.ts';
import { withLock } from './store.ts';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'wt-store-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const c1 = { containerId: 'c1', ifname: 'eth0' };
const texts = (ips: { family: 4 | 6; value: bigint }[]) => ips.map(formatIp).sort();

function openStore(): DiskStore {
  return DiskStore.open(dataDir, 'net1', { create: true })!;
}

describe('DiskStore', () => {
  it('writes the reference layout', () => {
    const store = openStore();
    withLock(store, () => {
      expect(store.reserve(c1, parseIp('10.0.0.2'), 0)).toBe(true);
      expect(store.reserve(c1, parseIp('fd00::2'), 1)).toBe(true);
      expect(store.reserve({ containerId: 'c2', ifname: 'eth0' }, parseIp('10.0.0.2'), 0)).toBe(false);
    });
    store.close();
    const dir = join(dataDir, 'net1');
    expect(readdirSync(dir).sort()).toEqual(['10.0.0.2', 'fd00::2', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    expect(readFileSync(join(dir, '10.0.0.2'), 'latin1')).toBe('c1\r\neth0');
    expect(readFileSync(join(dir, 'last_reserved_ip.1'), 'latin1')).toBe('fd00::2');
    expect(statSync(join(dir, '10.0.0.2')).mode & 0o777).toBe(0o600);
  });

  it('reads back holders, last reserved addresses, and releases', () => {
    const dir = join(dataDir, 'net1');
    mkdirSync(dir);
    writeFileSync(join(dir, '10.0.0.2'), 'c1\r\neth0');
    writeFileSync(join(dir, '10.0.0.3'), 'c1\r\neth1');
    writeFileSync(join(dir, '10.0.0.4'), 'c1\n');
    writeFileSync(join(dir, 'last_reserved_ip.0'), '10.0.0.4');
    writeFileSync(join(dir, 'last_reserved_ip.1'), 'not an address');
    const store = DiskStore.open(dataDir, 'net1', { create: false })!;
    withLock(store, () => {
      expect(formatIp(store.lastReservedIp(0)!)).toBe('10.0.0.4');
      expect(store.lastReservedIp(1)).toBeUndefined();
      expect(store.lastReservedIp(2)).toBeUndefined();
      expect(texts(store.getById(c1))).toEqual(['10.0.0.2', '10.0.0.4']);
      expect(texts(store.reservedIps())).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
      expect(texts(store.releaseById(c1))).toEqual(['10.0.0.2']);
      // Nothing current left for eth0: the old-format file of the container goes.
      expect(texts(store.releaseById(c1))).toEqual(['10.0.0.4']);
      expect(store.releaseById(c1)).toEqual([]);
      store.release(parseIp('10.0.0.3'));
      store.release(parseIp('10.0.0.3'));
    });
    store.close();
    expect(readdirSync(dir).sort()).toEqual(['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  });

  it('leaves foreign entries alone and never follows links', () => {
    const dir = join(dataDir, 'net1');
    const outside = join(dataDir, 'outside');
    mkdirSync(join(dir, '10.0.0.9'), { recursive: true });
    writeFileSync(outside, 'c1\r\neth0');
    symlinkSync(outside, join(dir, '10.0.0.5'));
    writeFileSync(join(dir, 'notes.txt'), 'c1\r\neth0');
    writeFileSync(join(dir, 'deadbeef'), 'c1\r\neth0');
    writeFileSync(join(dir, '10.0.0.6'), Buffer.alloc(10_000, 0x41));
    writeFileSync(join(dir, '10.0.0.7'), Buffer.from([0xff, 0xfe, 0x00, 0x0d]));
    const store = openStore();
    withLock(store, () => {
      expect(store.getById(c1)).toEqual([]);
      expect(store.releaseById(c1)).toEqual([]);
      expect(texts(store.allocations().map((a) => a.ip))).toEqual(['10.0.0.6', '10.0.0.7']);
      // Taken, whatever it is: never overwritten.
      expect(store.reserve(c1, parseIp('10.0.0.5'), 0)).toBe(false);
      expect(store.reserve(c1, parseIp('10.0.0.9'), 0)).toBe(false);
    });
    store.close();
    expect(readFileSync(outside, 'latin1')).toBe('c1\r\neth0');
    expect(readdirSync(dir).sort()).toEqual(['10.0.0.5', '10.0.0.6', '10.0.0.7', '10.0.0.9', 'deadbeef', 'lock', 'notes.txt']);
  });

  it('writes the owner before the name exists; what a killed reserve left does not harm, and DEL reclaims it', () => {
    const dir = join(dataDir, 'net1');
    mkdirSync(dir);
    writeFileSync(join(dir, '10.0.0.2'), 'c2\r\neth0');
    // Killed between link(2) and removing the pending file: both names are the one allocation.
    linkSync(join(dir, '10.0.0.2'), join(dir, '.reserving'));
    // Killed inside the reference's (or an older weft's) reserve, between creating the file and writing to it.
    writeFileSync(join(dir, '10.0.0.9'), '');
    const store = openStore();
    withLock(store, () => {
      expect(store.reserve(c1, parseIp('10.0.0.3'), 0)).toBe(true);
      expect(store.reserve(c1, parseIp('10.0.0.2'), 1)).toBe(false);
    });
    expect(readFileSync(join(dir, '10.0.0.2'), 'latin1')).toBe('c2\r\neth0');
    expect(readFileSync(join(dir, '10.0.0.3'), 'latin1')).toBe('c1\r\neth0');
    expect(readdirSync(dir).sort()).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.9', 'last_reserved_ip.0', 'lock']);
    writeFileSync(join(dir, '.reserving'), 'c3\r\neth0');
    withLock(store, () => {
      store.reclaimLeftovers();
      expect(texts(store.releaseById(c1))).toEqual(['10.0.0.3', '10.0.0.9']);
    });
    store.close();
    expect(readdirSync(dir).sort()).toEqual(['10.0.0.2', 'last_reserved_ip.0', 'lock']);
  });

  it('reads a long allocation file whole', () => {
    const long = { containerId: 'x'.repeat(5000), ifname: 'eth0' };
    const store = openStore();
    withLock(store, () => {
      expect(store.reserve(long, parseIp('10.0.0.2'), 0)).toBe(true);
      expect(texts(store.getById(long))).toEqual(['10.0.0.2']);
    });
    store.close();
  });

  it('does not create a missing store unless asked', () => {
    expect(DiskStore.open(dataDir, 'absent', { create: false })).toBeUndefined();
    expect(existsSync(join(dataDir, 'absent'))).toBe(false);
  });

  it('refuses network names that leave the data folder or cannot name a folder', () => {
    for (const name of ['..', '.', '', 'a/b', '../../etc', 'n'.repeat(256)]) {
      expect(() => storeDir(dataDir, name)).toThrow(expect.objectContaining({ code: 7 }));
    }
    expect(storeDir('/var/lib/cni/networks/', 'net1')).toBe('/var/lib/cni/networks/net1');
    expect(storeDir('/x', 'n'.repeat(255))).toBe(`/x/${'n'.repeat(255)}`);
  });

  it('holds an flock on <store>/lock that other processes see', () => {
    const store = openStore();
    const tryLock = () => spawnSync('flock', ['--nonblock', join(dataDir, 'net1', 'lock'), 'true']).status;
    store.lock();
    expect(tryLock()).toBe(1);
    store.unlock();
    expect(tryLock()).toBe(0);
    store.lock();
    store.close();
    expect(tryLock()).toBe(0);
  });

  it('says whether the store can be written', () => {
    expect(storeWriteProblem(dataDir, 'not-yet-made')).toBeUndefined();
    expect(storeWriteProblem('/proc/sys', 'net1')).toMatch(/^cannot write to \/proc\/sys/);
    const file = join(dataDir, 'a-file');
    writeFileSync(file, '');
    expect(storeWriteProblem(file, 'net1')).toBe(`${file} is not a directory`);
  });
});
