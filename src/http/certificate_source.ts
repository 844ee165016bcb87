import type { TLSSocket } from 'node:tls';
import type { Context, Next } from 'koa';
import { certificateState } from '../pki/certificate_state.ts';
import { parsePemBundle, presentedCertificate, type PresentedCertificate } from '../pki/presented_certificate.ts';
import { refusalDescription } from '../pki/refusal.ts';
import type { Logger } from '../shared/logger.ts';
import { listenerOf } from './listeners.ts';
import { handshakeCertificate } from './mtls_listener.ts';
import { isTrusted, trustedProxyList } from './proxy.ts';

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
 * PEM>"`, with the intermediates in `Chain=` when the proxy forwards them; the last element is the
 * one our proxy added) or nginx-ingress `ssl-client-cert` (URL-encoded PEM, the leaf optionally
 * followed by the chain). At most MAX_PRESENTED_CHAIN certificates are kept.
 * @throws Error when the header holds no parseable PEM certificate
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
  return presentedCertificate(parsePemBundle(pem, 'client certificate header'), 'proxy');
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
 *
 * On the way out, an `invalid_client` answer caused by the certificate (the mTLS checks recorded
 * `ctx.state.certificateRefusal`) gets an `error_description` saying which check failed, and one
 * `client_certificate_refused` log line with the detail.
 * @see RFC 8705 §2
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
      presented = handshakeCertificate(ctx.req.socket as TLSSocket);
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
    if (presented) certificateState(ctx).clientCertificate = presented;
    await next();
    explainRefusal(ctx, logger);
  };
}

function explainRefusal(ctx: Context, logger: Logger): void {
  const { certificateRefusal: refusal, clientCertificate: cert } = certificateState(ctx);
  const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
  if (!refusal || ctx.status !== 401 || !body || typeof body !== 'object' || body.error !== 'invalid_client') return;
  body.error_description = refusalDescription(refusal);
  logger.info(
    {
      event: 'client_certificate_refused',
      reason: refusal.reason,
      detail: refusal.detail,
      field: refusal.field,
      client_id: (ctx as { oidc?: { client?: { clientId?: string } } }).oidc?.client?.clientId,
      source: cert?.source,
      subject: cert?.leaf.subject.replace(/\n/g, ', '),
      serial: cert?.leaf.serialNumber,
    },
    'client certificate refused',
  );
}
