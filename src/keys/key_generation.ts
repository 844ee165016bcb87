import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ConfigError } from '../shared/errors.ts';
import type { SigningAlg } from './key_algorithms.ts';

/*
 * New signing keys: for an algorithm (a fresh keys file), or as the successor of a key being
 * rotated out, of the same type, curve or modulus size and with the same `alg`, so that every
 * algorithm the old key signed is signed by the new one.
 */

const generate = promisify(generateKeyPair);

/** What decides which algorithms a key can sign: its type and curve (or RSA modulus size). */
export type KeyKind = { kty: 'RSA'; modulusLength: number } | { kty: 'EC'; crv: 'P-256' | 'P-384' | 'P-521' } | { kty: 'OKP'; crv: 'Ed25519' | 'Ed448' };

const EC_CURVES = ['P-256', 'P-384', 'P-521'] as const;
const OKP_CURVES = ['Ed25519', 'Ed448'] as const;

function kindForAlg(alg: SigningAlg): KeyKind {
  if (alg === 'EdDSA') return { kty: 'OKP', crv: 'Ed25519' };
  if (alg.startsWith('ES')) return { kty: 'EC', crv: ({ ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' } as const)[alg as 'ES256' | 'ES384' | 'ES512'] };
  return { kty: 'RSA', modulusLength: 2048 };
}

/** The kind of an existing key, or undefined for one Gatehouse cannot generate (another curve, a post-quantum key). */
export function keyKind(jwk: JWK): KeyKind | undefined {
  if (jwk.kty === 'RSA' && jwk.n) return { kty: 'RSA', modulusLength: Math.max(2048, Buffer.from(jwk.n, 'base64url').length * 8) };
  const ec = EC_CURVES.find((c) => c === jwk.crv);
  if (jwk.kty === 'EC' && ec) return { kty: 'EC', crv: ec };
  const okp = OKP_CURVES.find((c) => c === jwk.crv);
  if (jwk.kty === 'OKP' && okp) return { kty: 'OKP', crv: okp };
  return undefined;
}

async function privateKey(kind: KeyKind): Promise<KeyObject> {
  switch (kind.kty) {
    case 'RSA':
      return (await generate('rsa', { modulusLength: kind.modulusLength })).privateKey;
    case 'EC':
      return (await generate('ec', { namedCurve: kind.crv })).privateKey;
    case 'OKP':
      return (kind.crv === 'Ed25519' ? await generate('ed25519') : await generate('ed448')).privateKey;
  }
}

/** A private JWK of `kind` with a thumbprint `kid` (RFC 7638), `use: sig` and, when given, `alg`. */
async function createKey(kind: KeyKind, alg: string | undefined): Promise<JWK> {
  const jwk = (await privateKey(kind)).export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), ...(alg === undefined ? {} : { alg }), use: 'sig' };
}

/** Creates a signing key for `alg` (RSA 2048, the matching EC curve, or Ed25519 for EdDSA). */
export function generateSigningKey(alg: SigningAlg): Promise<JWK> {
  return createKey(kindForAlg(alg), alg);
}

/**
 * Creates the successor of `key`: same kind (an RSA key keeps its modulus size, at least 2048 bits)
 * and the same `alg`, or none when `key` had none (an RSA key without `alg` signs RS* and PS*).
 * @throws ConfigError for a key whose kind Gatehouse cannot generate
 */
export async function generateSuccessor(key: JWK): Promise<JWK> {
  const kind = keyKind(key);
  if (!kind) {
    throw new ConfigError([
      `GATEHOUSE_JWKS_FILE: key ${key.kid} (${[key.kty, key.crv, key.alg].filter(Boolean).join(' ')}) is of a kind Gatehouse cannot generate a successor for; replace it by hand`,
    ]);
  }
  return createKey(kind, key.alg);
}
