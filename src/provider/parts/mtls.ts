import { createHash } from 'node:crypto';
import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { certificateState } from '../../pki/certificate_state.ts';
import { verifyClientCertificate } from '../../pki/chain.ts';
import type { CertificateRefusal } from '../../pki/refusal.ts';
import { subjectMatches } from '../../pki/subject_match.ts';
import { NO_TRUST } from '../../pki/trust.ts';
import type { ProviderContext } from '../context.ts';

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

/** Records why the certificate failed; http/certificate_source.ts turns it into the error_description and log line. */
function refuse(ctx: KoaContextWithOIDC, refusal: CertificateRefusal): false {
  certificateState(ctx).certificateRefusal = refusal;
  return false;
}

/** The client authentication methods that need no certificate. No client_secret_jwt: only a hash of each client secret is kept (parts/discovery.ts). */
const WITHOUT_CERTIFICATE = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;

/**
 * RFC 8705 client authentication and certificate-bound access tokens. oidc-provider asks us for
 * the certificate and whether to trust it: the listener accepts any certificate, so the chain,
 * validity and subject checks here are the only ones.
 *
 * Only when a certificate can reach Gatehouse at all — the mTLS listener runs
 * (GATEHOUSE_MTLS_ENABLED) or a trusted proxy forwards it (GATEHOUSE_CLIENT_CERT_HEADER). Without
 * either, discovery lists neither `tls_client_auth` nor `self_signed_tls_client_auth` nor
 * certificate-bound tokens, and Gatehouse's client rules refuse a client with those methods
 * (clients/client_rules.ts) instead of registering a method it could never use.
 * @see RFC 8705 §2 (client authentication), §3 (certificate-bound tokens)
 */
export function mtlsPart({ config, trust }: ProviderContext): Configuration {
  if (!config.mtlsEnabled && config.clientCertHeader === undefined) {
    return {
      clientAuthMethods: [...WITHOUT_CERTIFICATE],
      extraClientMetadata: {
        properties: [CA_PIN_PROPERTY],
        validator: (_ctx, key, value, metadata) => validateCaPin(key, value, metadata as Record<string, unknown>),
      },
      // Certificate-bound tokens stay on, so oidc-provider keeps `tls_client_certificate_bound_access_tokens`
      // in a client's metadata (the client rules refuse it) and a token bound earlier finds no
      // certificate and is refused (invalid_token / invalid_grant) instead of passing as a bearer
      // token. Discovery does not offer it (http/mtls_aliases.ts).
      features: { mTLS: { enabled: true, certificateBoundAccessTokens: true, tlsClientAuth: false, selfSignedTlsClientAuth: false, getCertificate: () => undefined } },
    };
  }
  return {
    // oidc-provider lists every method a client may register; the default list has no mTLS ones.
    clientAuthMethods: [...WITHOUT_CERTIFICATE, 'tls_client_auth', 'self_signed_tls_client_auth'],
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
        getCertificate(ctx) {
          const state = certificateState(ctx);
          // Only an invalid_client answer uses this (client authentication without a certificate).
          if (!state.clientCertificate) state.certificateRefusal = { reason: 'no_certificate' };
          return state.clientCertificate?.leaf;
        },
        certificateAuthorized(ctx) {
          const cert = certificateState(ctx).clientCertificate;
          if (!cert) return refuse(ctx, { reason: 'no_certificate' });
          const verdict = verifyClientCertificate(cert, trust?.current ?? NO_TRUST);
          if (!verdict.ok) return refuse(ctx, verdict);
          const pin = ctx.oidc.client?.metadata()[CA_PIN_PROPERTY];
          if (typeof pin === 'string' && createHash('sha256').update(verdict.anchor.raw).digest('hex') !== normaliseFingerprint(pin)) {
            return refuse(ctx, { reason: 'issuer_not_pinned', detail: `anchor ${verdict.anchor.subject.replace(/\n/g, ', ')}` });
          }
          return true;
        },
        certificateSubjectMatches(ctx, property, expected) {
          const cert = certificateState(ctx).clientCertificate;
          if (cert && subjectMatches(cert.leaf, property, expected)) return true;
          return refuse(ctx, { reason: 'subject_mismatch', field: property });
        },
      },
    },
  };
}
