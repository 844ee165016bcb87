import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { BoundedCache, MAX_PRESENTED_CHAIN, presentedCertificate, type PresentedCertificate } from '../pki/presented_certificate.ts';
import { trustSnapshotFromPem, type ClientCaTrust, type TrustSnapshot } from '../pki/trust.ts';
import { ConfigError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { tagListener } from './listeners.ts';

export interface MtlsFiles {
  cert: string;
  key: string;
  ca: string;
}

/** The listener's files as read and checked, with the trust snapshot of its CA bundle. */
export interface MtlsMaterial {
  cert: string;
  key: string;
  ca: string;
  trust: TrustSnapshot;
  digest: string;
}

function read(files: MtlsFiles): Omit<MtlsMaterial, 'trust'> {
  const cert = readFileSync(files.cert, 'utf8');
  const key = readFileSync(files.key, 'utf8');
  const ca = readFileSync(files.ca, 'utf8');
  const digest = createHash('sha256').update(cert).update('\0').update(key).update('\0').update(ca).digest('hex');
  return { cert, key, ca, digest };
}

/**
 * Reads and checks the listener's files: the CA bundle must parse, the certificate and key must
 * be PEM and the key must match the certificate. Errors name the setting and the file at fault.
 */
function loadMaterial(files: MtlsFiles): MtlsMaterial {
  const raw = read(files);
  const trust = trustSnapshotFromPem(raw.ca, files.ca);
  const problem = (what: string) => (err: unknown) => new Error(`${what} (${(err as Error).message})`);
  attempt(() => new X509Certificate(raw.cert), problem(`GATEHOUSE_MTLS_CERT_FILE ${files.cert} is not a PEM certificate`));
  attempt(() => createPrivateKey(raw.key), problem(`GATEHOUSE_MTLS_KEY_FILE ${files.key} is not a PEM private key`));
  attempt(() => createSecureContext(tlsOptions(raw)), problem(`GATEHOUSE_MTLS_KEY_FILE ${files.key} does not match the certificate in GATEHOUSE_MTLS_CERT_FILE ${files.cert}`));
  return { ...raw, trust };
}

function attempt(fn: () => unknown, wrap: (err: unknown) => Error): void {
  try {
    fn();
  } catch (err) {
    throw wrap(err);
  }
}

/** Loads the trusted client CAs at start; any unreadable file is a configuration error naming it. */
export function loadMtlsMaterial(files: MtlsFiles): MtlsMaterial {
  try {
    return loadMaterial(files);
  } catch (err) {
    throw new ConfigError([`GATEHOUSE_MTLS_CERT_FILE / _KEY_FILE / _CA_FILE: cannot use ${files.cert}, ${files.key}, ${files.ca} (${(err as Error).message})`]);
  }
}

/**
 * The TLS context holds the server certificate only, never the trusted CAs: OpenSSL's own verdict
 * on the client's chain is not used, and when it succeeds Node (24.21, nodejs/node#65579) drops the
 * intermediates the client sent from what getPeerCertificate(true) returns, so a context without
 * our CAs keeps the presented chain whole for pki/chain.ts. (A client certificate chaining to a
 * public root of Node's default store still verifies and loses its intermediates there; such a
 * CA's issuing certificate can be configured as the anchor.) It also means the CertificateRequest
 * lists no CA names (RFC 8446 §4.2.4, optional), so clients send the certificate they were given.
 */
const tlsOptions = (m: Pick<MtlsMaterial, 'cert' | 'key'>): ServerOptions => ({ cert: m.cert, key: m.key });

export interface MtlsListener {
  server: Server;
  /** Stops watching the files. */
  stopWatching(): void;
}

const perSocket = new WeakMap<TLSSocket, PresentedCertificate | null>();
/**
 * The intermediates each leaf came with in its last full handshake: a resumed TLS session carries
 * the leaf only (RFC 8446 §2.2), and the chain is still needed to reach an anchor. Only helpers
 * for path building; the path is verified by signatures all the same.
 */
const chainOfLeaf = new BoundedCache<string, readonly X509Certificate[]>(2000);

/**
 * The certificates the peer sent in the handshake, leaf first, parsed once per connection. The
 * listener does not judge them: pki/chain.ts does, from the leaf through the intermediates the
 * client sent to an anchor of the trust snapshot.
 */
export function handshakeCertificate(socket: TLSSocket): PresentedCertificate | undefined {
  const cached = perSocket.get(socket);
  if (cached !== undefined) return cached ?? undefined;
  let presented: PresentedCertificate | undefined;
  try {
    // Node links each certificate to its issuer among those the client sent (`issuerCertificate`),
    // possibly ending at a root of Node's default store; only the trust snapshot's anchors count.
    const peer = socket.getPeerCertificate(true);
    const certs: X509Certificate[] = [];
    const seen = new Set<string>();
    for (let link: typeof peer | undefined = peer; link?.raw && certs.length < MAX_PRESENTED_CHAIN && !seen.has(link.fingerprint256); link = link.issuerCertificate as typeof peer | undefined) {
      seen.add(link.fingerprint256);
      certs.push(new X509Certificate(link.raw));
    }
    // That linking (OpenSSL's X509_check_issued) stops at a certificate sent out of order (Int 1
    // before Int 2, a root first; RFC 8446 §4.4.2 asks receivers to accept any order) and skips a
    // CA whose key usage lacks keyCertSign, which chain.ts must see to say so. The peer's
    // X509Certificate lists what the client sent, as sent: add those not linked above.
    let sent = socket.getPeerX509Certificate()?.issuerCertificate;
    for (let step = 0; sent && certs.length < MAX_PRESENTED_CHAIN && step < MAX_PRESENTED_CHAIN; step++, sent = sent.issuerCertificate) {
      if (!seen.has(sent.fingerprint256)) {
        seen.add(sent.fingerprint256);
        certs.push(sent);
      }
    }
    const [leaf, ...chain] = certs;
    if (leaf && chain.length) chainOfLeaf.remember(leaf.fingerprint256, chain);
    else if (leaf && socket.isSessionReused()) chain.push(...(chainOfLeaf.get(leaf.fingerprint256) ?? []));
    presented = leaf && presentedCertificate([leaf, ...chain], 'tls');
  } catch {
    presented = undefined;
  }
  perSocket.set(socket, presented ?? null);
  return presented;
}

/**
 * The mutual-TLS listener: asks for a client certificate but does not require or judge one, so a
 * missing or untrusted certificate becomes an OAuth `invalid_client` from our own checks rather
 * than a TLS alert. The files are polled and a change applies to new handshakes without a restart
 * (a broken replacement is logged and the previous material kept); a changed CA file becomes a
 * new trust snapshot swapped into `trust`.
 */
export function createMtlsListener(
  callback: (req: IncomingMessage, res: ServerResponse) => void,
  options: { files: MtlsFiles; material: MtlsMaterial; trust: ClientCaTrust; logger: Logger; reloadSeconds: number },
): MtlsListener {
  const { files, trust, logger } = options;
  let current = options.material;
  trust.swap(current.trust);
  const server = createServer(
    {
      ...tlsOptions(current),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      requestTimeout: 30_000,
      headersTimeout: 20_000,
      keepAliveTimeout: 65_000,
    },
    tagListener('mtls', callback),
  );
  server.maxHeadersCount = 100;
  // The certificate is read once per connection; renegotiating to another one must not be possible.
  server.on('secureConnection', (socket) => socket.disableRenegotiation());
  server.on('tlsClientError', (err) => logger.debug({ event: 'tls_client_error', err: { message: err.message } }, 'TLS handshake failed'));

  let failedDigest: string | undefined;
  const timer = setInterval(() => {
    let raw: Omit<MtlsMaterial, 'trust'>;
    try {
      raw = read(files);
    } catch (err) {
      logger.error({ event: 'mtls_reload_failed', err: { message: (err as Error).message } }, 'cannot read the mTLS certificate files; keeping the previous ones');
      return;
    }
    if (raw.digest === current.digest || raw.digest === failedDigest) return;
    try {
      const next = loadMaterial(files);
      server.setSecureContext(tlsOptions(next));
      trust.swap(next.trust);
      current = next;
      failedDigest = undefined;
      logger.info({ event: 'mtls_reloaded', anchors: next.trust.anchors.length }, 'mTLS certificate files changed; new handshakes use them');
    } catch (err) {
      failedDigest = raw.digest;
      logger.error({ event: 'mtls_reload_failed', err: { message: (err as Error).message } }, 'changed mTLS certificate files are not usable; keeping the previous ones');
    }
  }, options.reloadSeconds * 1000);
  timer.unref();
  return { server, stopWatching: () => clearInterval(timer) };
}
