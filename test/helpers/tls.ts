/**
 * Self-signed TLS certificates for 127.0.0.1 (or a host name), made with the openssl command (each
 * is its own CA: trusting the certificate file is what `caBundle` / `AWS_CA_BUNDLE` /
 * `--ca-bundle` / `NODE_EXTRA_CA_CERTS` do).
 */
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';

export interface SelfSigned {
  /** PEM file of the certificate: a CA bundle that trusts it. */
  certFile: string;
  key: string;
  cert: string;
}

/** Writes `<name>.key` and `<name>.pem` into `dir`, a certificate for `host` (an IP address or a name). */
export function selfSignedCertificate(dir: string, name: string, host = '127.0.0.1'): SelfSigned {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2'].concat([
      '-subj',
      `/CN=${host}`,
      '-addext',
      `subjectAltName=${/^[\d.]+$|:/.test(host) ? 'IP' : 'DNS'}:${host}`,
    ]),
    { stdio: 'ignore' },
  );
  return { certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}
