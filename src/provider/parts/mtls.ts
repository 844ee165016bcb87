import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { subjectMatches, verifyClientCertificate, type PresentedCertificate } from '../../pki/client_certificate.ts';
import type { ProviderContext } from '../context.ts';

/** The certificate http/client_certificate.ts attached: TLS on the mTLS listener, or a trusted proxy's header. */
function presented(ctx: KoaContextWithOIDC): PresentedCertificate | undefined {
  return ctx.state.clientCertificate as PresentedCertificate | undefined;
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
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none', 'tls_client_auth', 'self_signed_tls_client_auth'],
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
          if (!verdict.ok) {
            logger.info({ event: 'client_certificate_refused', reason: verdict.reason, client_id: ctx.oidc.client?.clientId, source: cert.source }, 'client certificate refused');
          }
          return verdict.ok;
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
