import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initDevPki } from '../../src/pki/dev_pki.ts';
import { issueCertificate, type SubjectAltNames } from '../../src/pki/issue.ts';

const run = promisify(execFile);
const DAY = 86_400_000;

export interface Pair {
  cert: string;
  key: string;
}

/** A development PKI made by our own code, plus an issuer of client certificates from its CA. */
export async function devPki(certsDir: string) {
  await initDevPki(certsDir);
  const ca = { certPem: readFileSync(join(certsDir, 'root_ca.crt'), 'utf8'), keyPem: readFileSync(join(certsDir, 'root_ca.key'), 'utf8') };
  return {
    rootCa: join(certsDir, 'root_ca.crt'),
    serverCert: join(certsDir, 'server.crt'),
    serverKey: join(certsDir, 'server.key'),
    /** Issues a client certificate into `dir`; `offsetDays` moves its start (negative = in the past). */
    async issue(dir: string, name: string, sans: SubjectAltNames = {}, options: { days?: number; offsetDays?: number } = {}): Promise<Pair> {
      const notBefore = new Date(Date.now() + (options.offsetDays ?? 0) * DAY - 60_000);
      const issued = await issueCertificate(ca, { commonName: name, sans, days: options.days ?? 30, usage: 'client', notBefore });
      const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
      writeFileSync(pair.cert, issued.certPem);
      writeFileSync(pair.key, issued.keyPem, { mode: 0o600 });
      return pair;
    },
  };
}

const openssl = (args: string[]) => run('openssl', args);

/** A company CA made with the real openssl binary (an existing PKI we are told to trust). */
export async function opensslCa(dir: string, name: string, subject: string): Promise<Pair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', pair.key, '-out', pair.cert, '-days', '30', '-subj', subject,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair;
}

/**
 * A client certificate signed by an openssl CA; `extensions` are openssl extension lines, and one
 * naming an extension of the base set (basicConstraints, extendedKeyUsage / keyUsage) replaces it.
 */
export async function opensslIssue(dir: string, ca: Pair, name: string, subject: string, extensions: string[] = [], options: { intermediateCa?: boolean } = {}): Promise<Pair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const base = options.intermediateCa ? ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'] : ['basicConstraints=CA:FALSE', 'extendedKeyUsage=clientAuth'];
  const named = (line: string) => line.slice(0, line.indexOf('='));
  const replaced = new Set(extensions.map(named));
  writeFileSync(ext, [...base.filter((line) => !replaced.has(named(line))), ...extensions].join('\n'));
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', pair.key, '-out', csr, '-subj', subject]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '10', '-out', pair.cert, '-extfile', ext]);
  return pair;
}

/** A self-signed certificate from openssl, as a self_signed_tls_client_auth client would make. */
export async function opensslSelfSigned(dir: string, name: string): Promise<Pair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', pair.key, '-out', pair.cert, '-days', '10', '-subj', `/CN=${name}`]);
  return pair;
}

/** The public JWK of a certificate with its `x5c`, as a client registers it in `jwks`. */
export function jwkWithX5c(certPath: string): Record<string, unknown> {
  const cert = new X509Certificate(readFileSync(certPath));
  return { ...cert.publicKey.export({ format: 'jwk' }), x5c: [cert.raw.toString('base64')] };
}

/** SHA-256 thumbprint of a certificate, base64url (the `x5t#S256` confirmation). */
export function thumbprint(certPath: string): string {
  return createHash('sha256').update(new X509Certificate(readFileSync(certPath)).raw).digest('base64url');
}
