// weftd's etcd store against a real etcd that requires TLS with client certificates and password
// authentication, opened from config file paths as weftd opens it (open-store.ts). The certificates come
// from a throwaway CA (testing/tls.ts); etcd's user `weft` may read and write only its own prefix.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3, Range } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreOptions } from '../config.ts';
import { EtcdStore } from './etcd-store.ts';
import type { LeaseStore } from './store.ts';
import { openLeaseStore } from './open-store.ts';
import { EtcdCluster } from './testing/etcd-cluster.ts';
import { makeTestPki, type TestPki } from './testing/tls.ts';

const prefix = '/weft-tls/network';
const spec = { subnet: '10.244.7.0/24', nodeName: 'tls-node', publicIp: '192.0.2.7', vtepMac: '0a:00:00:00:00:07' };

describe('the etcd store over TLS, with a client certificate and a password', () => {
  let dir: string;
  let pki: TestPki;
  let cluster: EtcdCluster;
  const stores: LeaseStore[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-etcd-tls-'));
    pki = makeTestPki(dir);
    cluster = await EtcdCluster.start(1, { tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey } });
    const admin = new Etcd3({
      hosts: cluster.endpoints,
      credentials: { rootCertificate: readFileSync(pki.ca), privateKey: readFileSync(pki.clientKey), certChain: readFileSync(pki.clientCert) },
    });
    try {
      // etcd enables authentication only with a root user in the root role.
      await (await admin.user('root').create('root-secret')).addRole('root');
      const role = await admin.role('weft-rw').create();
      await role.grant({ permission: 'Readwrite', range: Range.prefix('/weft-tls/') });
      await (await admin.user('weft').create('weft-secret')).addRole(role);
      await admin.auth.authEnable();
    } finally {
      admin.close();
    }
    writeFileSync(join(dir, 'password'), 'weft-secret\n', { mode: 0o600 });
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const config = (extra: Partial<Extract<StoreOptions, { type: 'etcd' }>> = {}): StoreOptions => ({
    type: 'etcd', endpoints: cluster.endpoints, prefix,
    caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey, username: 'weft', passwordFile: join(dir, 'password'),
    ...extra,
  });

  async function open(options: StoreOptions): Promise<LeaseStore> {
    const store = await openLeaseStore(options);
    stores.push(store);
    return store;
  }

  it('leases a subnet that another node, opened the same way, sees', async () => {
    const made = await (await open(config())).create(spec, 30);
    expect(made).toMatchObject({ created: true, lease: { subnet: spec.subnet, nodeName: 'tls-node' } });
    const seen = await (await open(config())).list();
    expect(seen.leases.map((l) => l.nodeName)).toEqual(['tls-node']);
  });

  it('is refused with a wrong password, and without a client certificate', async () => {
    writeFileSync(join(dir, 'wrong'), 'guess\n');
    await expect((await open(config({ passwordFile: join(dir, 'wrong') }))).list()).rejects.toThrow(/authentication failed|invalid user ID or password/i);
    // Straight to the store with a short deadline (a failed TLS handshake is retried until then); the same
    // options with the certificate added work, so the certificate is what the refusal is about.
    const storeWith = (tls: { ca: Buffer; cert?: Buffer; key?: Buffer }) => {
      const store = new EtcdStore({ endpoints: cluster.endpoints, prefix, callTimeoutMs: 1500, tls, auth: { username: 'weft', password: 'weft-secret' } });
      stores.push(store);
      return store;
    };
    const ca = readFileSync(pki.ca);
    await expect(storeWith({ ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) }).list()).resolves.toMatchObject({ leases: expect.any(Array) });
    await expect(storeWith({ ca }).list()).rejects.toThrow(/UNAVAILABLE/);
  });

  it('is refused outside the prefix its etcd user may use', async () => {
    await expect((await open(config({ prefix: '/elsewhere' }))).list()).rejects.toThrow(/permission denied/i);
  });
});
