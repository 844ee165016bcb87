import type { Configuration } from 'oidc-provider';

/** Asymmetric algorithms only: HMAC ones would need the raw client secret as a key. */
const ASYMMETRIC = ['RS256', 'PS256', 'ES256', 'Ed25519', 'EdDSA'] as const;

/**
 * What discovery advertises beyond the core endpoints, each documented in README and tested:
 * - no `client_secret_jwt` and no HS256 (or any HMAC algorithm) for client assertions or
 *   request objects: both use the client secret as an HMAC key, and Gatehouse keeps only a hash
 *   of it (clients/client_secret.ts); `private_key_jwt` covers signed assertions;
 * - DPoP (RFC 9449) on, with oidc-provider's asymmetric proof algorithms;
 * - pushed authorization requests (RFC 9126) off: nothing here uses them yet.
 * The client authentication methods themselves are listed in parts/mtls.ts.
 * @see RFC 7523 §2.2, RFC 9449, RFC 9126
 */
export function discoveryPart(): Configuration {
  return {
    enabledJWA: {
      clientAuthSigningAlgValues: [...ASYMMETRIC],
      requestObjectSigningAlgValues: [...ASYMMETRIC],
    },
    features: {
      dPoP: { enabled: true },
      pushedAuthorizationRequests: { enabled: false },
    },
  };
}
