import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Context, Next } from 'koa';
import { parsePemBundle, type PresentedCertificate } from '../pki/client_certificate.ts';
import type { Logger } from '../shared/logger.ts';
import { listenerOf } from './listeners.ts';
import { isTrusted, trustedProxyList } from './proxy.ts';

const MAX_CHAIN = 8;
const perSocket = new WeakMap<TLSSocket, PresentedCertificate | null>();

/** The certificate the peer presented in the handshake, parsed once per connection. */
function fromSocket(socket: TLSSocket): PresentedCertificate | undefined {
  const cached = perSocket.get(socket);
  if (cached !== undefined) return cached ?? undefined;
  let presented: PresentedCertificate | null = null;
  try {
    const peer = socket.getPeerCertificate(true);
    if (peer?.raw) {
      const certs: X509Certificate[] = [];
      const seen = new Set<string>();
      let link: typeof peer | undefined = peer;
      while (link?.raw && certs.length < MAX_CHAIN && !seen.has(link.fingerprint256)) {
        seen.add(link.fingerprint256);
        certs.push(new X509Certificate(link.raw));
        link = link.issuerCertificate as typeof peer | undefined;
      }
      const [leaf, ...chain] = certs;
      if (leaf) presented = { leaf, chain, source: 'tls' };
    }
  } catch {
    presented = null;
  }
  perSocket.set(socket, presented);
  return presented ?? undefined;
}

/** Splits on `sep` outside double quotes (XFCC elements and fields). */
function splitOutsideQuotes(value: string, sep: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

/**
 * Parses a proxy's client-certificate header: Envoy `x-forwarded-client-cert` (`Cert="<url-encoded
 * PEM>"`, optional `Chain=`; the last element is the one our proxy added) or nginx-ingress
 * `ssl-client-cert` (URL-encoded PEM, optionally followed by the chain).
 */
export function parseCertificateHeader(value: string): PresentedCertificate | undefined {
  let pem: string;
  if (/(^|[;,])\s*cert=/i.test(value)) {
    const element = splitOutsideQuotes(value, ',').at(-1) ?? '';
    const fields = new Map(
      splitOutsideQuotes(element, ';').map((f) => {
        const eq = f.indexOf('=');
        const v = f.slice(eq + 1).trim();
        return [f.slice(0, eq).trim().toLowerCase(), v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v] as const;
      }),
    );
    const cert = fields.get('cert');
    if (!cert) return undefined;
    pem = decodeURIComponent(cert) + decodeURIComponent(fields.get('chain') ?? '');
  } else {
    pem = decodeURIComponent(value);
  }
  const [leaf, ...chain] = parsePemBundle(pem, 'client certificate header').slice(0, MAX_CHAIN);
  return leaf ? { leaf, chain, source: 'proxy' } : undefined;
}

export interface ClientCertificateOptions {
  /** Header a trusted proxy puts the client certificate in (lower case), if any. */
  header?: string;
  trustedProxies: string[];
  logger: Logger;
}

/**
 * Marks each request with its listener and attaches the client certificate it presented
 * (`ctx.state.clientCertificate`): from the TLS handshake on the mTLS listener only, or from the
 * configured header when the request comes from a trusted proxy. A certificate header from anyone
 * else is removed and logged; on the mTLS listener the header is never believed.
 */
export function clientCertificates(options: ClientCertificateOptions) {
  const proxies = trustedProxyList(options.trustedProxies);
  const { header, logger } = options;
  return async function clientCertificate(ctx: Context, next: Next): Promise<void> {
    const listener = listenerOf(ctx.req);
    ctx.state.listener = listener;
    const raw = header ? ctx.req.headers[header] : undefined;
    if (header) delete ctx.req.headers[header];
    let presented: PresentedCertificate | undefined;
    if (listener === 'mtls') {
      presented = fromSocket(ctx.req.socket as TLSSocket);
      if (raw !== undefined) logger.warn({ event: 'client_cert_header_ignored', remote: ctx.req.socket.remoteAddress, listener }, 'client certificate header on the mTLS listener ignored');
    } else if (raw !== undefined) {
      const remote = ctx.req.socket.remoteAddress;
      if (!isTrusted(proxies, remote)) {
        logger.warn({ event: 'client_cert_header_ignored', remote, listener }, 'client certificate header from an untrusted address ignored');
      } else if (typeof raw === 'string' && raw.length > 0) {
        try {
          presented = parseCertificateHeader(raw);
        } catch (err) {
          logger.warn({ event: 'client_cert_header_invalid', remote, err: { message: (err as Error).message } }, 'client certificate header from the proxy cannot be parsed');
        }
      }
    }
    if (presented) ctx.state.clientCertificate = presented;
    await next();
  };
}
