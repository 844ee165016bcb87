import { createHash } from 'node:crypto';
import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { subjectMatches, verifyClientCertificate, type PresentedCertificate } from '../../pki/client_certificate.ts';
import type { ProviderContext } from '../context.ts';

/** The certificate http/client_certificate.ts attached: TLS on the mTLS listener, or a trusted proxy's header. */
function presented(ctx: KoaContextWithOIDC): PresentedCertificate | undefined {
  return ctx.state.clientCertificate as PresentedCertificate | undefined;
}

/**
 * Client metadata pinning the CA a `tls_client_auth` client's certificate must chain to: the
 * SHA-256 fingerprint of that CA certificate (hex, colons optional, as `openssl x509 -fingerprint
 * -sha256` prints it). Without it any trusted CA will do.
 */
export const CA_PIN_PROPERTY = 'tls_client_auth_ca_sha256';

const normaliseFingerprint = (v: string) => v.replace(/:/g, '').toLowerCase();

/** Validates {@link CA_PIN_PROPERTY}; compose into any other `extraClientMetadata.validator`. */
export function validateCaPin(key: string, value: unknown, metadata: Record<string, unknown>): void {
  if (key !== CA_PIN_PROPERTY || value === undefined) return;
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(normaliseFingerprint(value))) {
    throw new errors.InvalidClientMetadata(`${CA_PIN_PROPERTY} must be the hex SHA-256 fingerprint of a CA certificate`);
  }
  if (metadata.token_endpoint_auth_method !== 'tls_client_auth') {
    throw new errors.InvalidClientMetadata(`${CA_PIN_PROPERTY} applies only to tls_client_auth clients`);
  }
}

/**
 * RFC 8705 client authentication and certificate-bound access tokens. oidc-provider asks us for
 * the certificate and whether to trust it: the listener accepts any certificate, so the chain,
 * validity and subject checks here are the only ones.
 * @see RFC 8705 §2 (client authentication), §3 (certificate-bound tokens)
 */
export function mtlsPart({ trust, logger }: ProviderContext): Configuration {
  const anchors = () => trust?.anchors ?? [];
  return {
    // oidc-provider lists every method a client may register; the default list has no mTLS ones.
    // No client_secret_jwt: only a hash of each client secret is kept (parts/discovery.ts).
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none', 'tls_client_auth', 'self_signed_tls_client_auth'],
    extraClientMetadata: {
      properties: [CA_PIN_PROPERTY],
      validator: (_ctx, key, value, metadata) => validateCaPin(key, value, metadata as Record<string, unknown>),
    },
    features: {
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: (ctx) => presented(ctx)?.leaf,
        certificateAuthorized(ctx) {
          const cert = presented(ctx);
          if (!cert) return false;
          const verdict = verifyClientCertificate(cert, anchors());
          let reason = verdict.ok ? undefined : verdict.reason;
          const pin = ctx.oidc.client?.metadata()[CA_PIN_PROPERTY];
          if (verdict.ok && typeof pin === 'string' && createHash('sha256').update(verdict.anchor.raw).digest('hex') !== normaliseFingerprint(pin)) {
            reason = 'issuer_not_pinned';
          }
          if (reason) {
            logger.info({ event: 'client_certificate_refused', reason, client_id: ctx.oidc.client?.clientId, source: cert.source }, 'client certificate refused');
          }
          return !reason;
        },
        certificateSubjectMatches(ctx, property, expected) {
          const cert = presented(ctx);
          const ok = !!cert && subjectMatches(cert.leaf, property, expected);
          if (!ok) logger.info({ event: 'client_certificate_refused', reason: 'subject_mismatch', property, client_id: ctx.oidc.client?.clientId }, 'client certificate subject does not match');
          return ok;
        },
      },
    },
  };
}
