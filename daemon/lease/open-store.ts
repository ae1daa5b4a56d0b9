// The lease store a weftd config names: the embedded file, or etcd with its TLS files and password read here.
import { readBoundedBytes } from '../../lib/files/bounded-read.ts';
import type { StoreOptions } from '../config.ts';
import { EmbeddedStore } from './embedded-store.ts';
import type { LeaseStore } from './store.ts';

export async function openLeaseStore(options: StoreOptions): Promise<LeaseStore> {
  if (options.type === 'embedded') return new EmbeddedStore({ path: options.path });
  // Loaded only when used: the etcd client costs ~200 ms to load.
  const { EtcdStore } = await import('./etcd-store.ts');
  const read = (path: string | undefined) => (path === undefined ? undefined : readBoundedBytes(path));
  const [ca, cert, key, password] = [read(options.caFile), read(options.certFile), read(options.keyFile), read(options.passwordFile)];
  return new EtcdStore({
    endpoints: options.endpoints,
    prefix: options.prefix,
    ...(ca ? { tls: { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}),
    // A password file usually ends with a newline that is not part of the password.
    ...(options.username && password ? { auth: { username: options.username, password: password.toString().trim() } } : {}),
  });
}
