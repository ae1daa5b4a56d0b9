// A throwaway certificate authority for tests, made with the openssl command: a CA, a server certificate
// for 127.0.0.1 and a client certificate, each with its key, in `dir` (which the caller removes).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestPki {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Signs a new P-256 key's certificate for `cn` with the CA in `dir`; `extensions` in openssl's config syntax. */
function issue(dir: string, name: string, cn: string, extensions: string): void {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  execFileSync('sh', ['-c', `printf '%s\\n' "$1" > ${name}.ext`, 'sh', extensions], { cwd: dir });
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
}

export function makeTestPki(dir: string): TestPki {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=weft test CA']);
  issue(dir, 'server', 'etcd', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth');
  issue(dir, 'client', 'weft', 'extendedKeyUsage=clientAuth');
  const at = (file: string) => join(dir, file);
  return { ca: at('ca.crt'), serverCert: at('server.crt'), serverKey: at('server.key'), clientCert: at('client.crt'), clientKey: at('client.key') };
}
