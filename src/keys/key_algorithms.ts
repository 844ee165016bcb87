import type { JWK } from 'jose';

/*
 * Which JWS algorithms a key can sign with. oidc-provider picks a signing key per algorithm when
 * it signs (an access token for an API, an ID token); answering the same question here lets a key
 * set that cannot sign what the configuration asks for be refused when it is loaded instead of
 * failing every such request.
 */

/** The asymmetric JWS algorithms Gatehouse signs with. @see RFC 7518 §3.1, RFC 8037 §3.1 */
export const SIGNING_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'] as const;
/** One of {@link SIGNING_ALGS}: a JWS `alg` value Gatehouse can sign with. */
export type SigningAlg = (typeof SIGNING_ALGS)[number];

const RSA_ALGS: readonly SigningAlg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const CURVE_ALGS: Readonly<Record<string, readonly SigningAlg[]>> = {
  'EC P-256': ['ES256'],
  'EC P-384': ['ES384'],
  'EC P-521': ['ES512'],
  // oidc-provider signs EdDSA with Ed25519 keys only (an Ed448 key is refused at start).
  'OKP Ed25519': ['EdDSA'],
};

/**
 * The algorithms `jwk` can sign with, by the rules of oidc-provider's key selection: its type and
 * curve decide; a declared `alg` narrows that to the one algorithm; `use` other than `sig` or
 * `key_ops` without `sign` (a key published but not yet or no longer signing) rule it out.
 */
export function signingAlgs(jwk: JWK): SigningAlg[] {
  if (jwk.use !== undefined && jwk.use !== 'sig') return [];
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('sign')) return [];
  const possible = jwk.kty === 'RSA' ? RSA_ALGS : (CURVE_ALGS[`${jwk.kty} ${jwk.crv}`] ?? []);
  if (jwk.alg !== undefined) return possible.filter((alg) => alg === jwk.alg);
  return [...possible];
}

/** Every algorithm some key of `jwks` can sign with, in SIGNING_ALGS order. */
export function signableAlgs(jwks: { keys: JWK[] }): SigningAlg[] {
  const found = new Set(jwks.keys.flatMap(signingAlgs));
  return SIGNING_ALGS.filter((alg) => found.has(alg));
}
