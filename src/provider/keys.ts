import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ConfigError } from '../shared/errors.ts';

export interface KeyMaterial {
  /** Private signing keys as JWKs, each with `kid`, `alg` and `use: sig`. */
  jwks: { keys: JWK[] };
  /** Cookie signing secrets, newest first. */
  cookieKeys: string[];
  /** What was generated on this start, for the log. */
  generated: string[];
}

export interface LoadKeysOptions {
  dataDir: string;
  jwksFile?: string;
  cookieKeys?: string[];
}

/** Writes a secret file readable by its owner only. */
export function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Creates a signing key with a thumbprint `kid` (RFC 7638). */
export async function generateSigningKey(alg: 'RS256' | 'ES256'): Promise<JWK> {
  const { privateKey } =
    alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

function readJwks(path: string, env: string): { keys: JWK[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`${env}: ${path} is not a readable JWKS JSON file (${(err as Error).message})`]);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => k && typeof k === 'object' && 'd' in k)) {
    throw new ConfigError([`${env}: ${path} must hold {"keys": [...]} with at least one private key`]);
  }
  if (!keys.some((k: JWK) => k.kty === 'RSA')) {
    throw new ConfigError([`${env}: ${path} must include an RSA key (RS256 is the OpenID Connect default for ID tokens)`]);
  }
  return { keys };
}

/**
 * Loads signing and cookie keys. Supplied keys are used as they are; missing ones are generated
 * once into the data directory (mode 0600) and reused on every later start, so `kid`s stay stable.
 * Production mode never reaches generation: config validation refuses missing keys first.
 */
export async function loadKeys(options: LoadKeysOptions): Promise<KeyMaterial> {
  const generated: string[] = [];
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });

  let jwks: { keys: JWK[] };
  if (options.jwksFile) {
    jwks = readJwks(options.jwksFile, 'GATEHOUSE_JWKS_FILE');
  } else {
    const path = join(options.dataDir, 'jwks.json');
    if (existsSync(path)) {
      jwks = readJwks(path, 'GATEHOUSE_DATA_DIR');
    } else {
      jwks = { keys: [await generateSigningKey('RS256'), await generateSigningKey('ES256')] };
      writeSecretFile(path, `${JSON.stringify(jwks, null, 2)}\n`);
      generated.push(path);
    }
  }

  let cookieKeys = options.cookieKeys;
  if (!cookieKeys) {
    const path = join(options.dataDir, 'cookie-keys.json');
    if (existsSync(path)) {
      cookieKeys = JSON.parse(readFileSync(path, 'utf8')) as string[];
    } else {
      cookieKeys = [randomBytes(32).toString('base64url')];
      writeSecretFile(path, `${JSON.stringify(cookieKeys)}\n`);
      generated.push(path);
    }
  }
  return { jwks, cookieKeys, generated };
}
