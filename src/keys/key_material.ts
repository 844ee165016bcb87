import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { ConfigError } from '../shared/errors.ts';
import { writeSecretFile } from '../shared/files.ts';
import { effectiveJwks, readKeyFile, writeKeyFile } from './key_file.ts';
import { generateSigningKey } from './key_generation.ts';

export interface KeyMaterial {
  /** Private signing keys as JWKs, each with `kid`, `alg` and `use: sig`, as they are right now. */
  jwks: { keys: JWK[] };
  /** The keys file (supplied or generated); watched for rotation. */
  jwksPath: string;
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

/**
 * Loads signing and cookie keys. Supplied keys are used as they are; missing ones are generated
 * once into the data directory (mode 0600) and reused on every later start, so `kid`s stay stable.
 * Production mode never reaches generation: config validation refuses missing keys first.
 */
export async function loadKeys(options: LoadKeysOptions): Promise<KeyMaterial> {
  const generated: string[] = [];
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });

  const jwksPath = options.jwksFile ?? join(options.dataDir, 'jwks.json');
  if (!options.jwksFile && !existsSync(jwksPath)) {
    writeKeyFile(jwksPath, [await generateSigningKey('RS256'), await generateSigningKey('ES256')]);
    generated.push(jwksPath);
  }
  const stored = readKeyFile(jwksPath);
  if (!stored.some((k) => k.kty === 'RSA')) {
    throw new ConfigError([`GATEHOUSE_JWKS_FILE: ${jwksPath} must include an RSA key (RS256 is the OpenID Connect default for ID tokens)`]);
  }
  const jwks = effectiveJwks(stored);

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
  return { jwks, jwksPath, cookieKeys, generated };
}
