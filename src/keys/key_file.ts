/*
 * The signing keys file: its JWKs with Gatehouse's rotation times, each key's state at a given
 * moment, and the keystore oidc-provider gets from it.
 */
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { ConfigError } from '../shared/errors.ts';
import { writeSecretFile } from '../shared/files.ts';

/**
 * Rotation metadata Gatehouse keeps inside each JWK of the keys file. A key without it is an
 * ordinary signing key (a plain JWKS file keeps working).
 */
export interface KeyTimes {
  /** Epoch seconds from which the key signs; before that it is only published. */
  gh_activate_at?: number;
  /** Epoch seconds from which the key no longer signs; it still verifies until pruned. */
  gh_retire_at?: number;
  /** Epoch seconds the key was created. */
  gh_created_at?: number;
}

export type StoredKey = JWK & KeyTimes;
export type KeyState = 'next' | 'active' | 'retired';

/** The current time in epoch seconds, the unit of every key time. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Where a key is in its life at time `t` (epoch seconds). */
export function keyState(key: StoredKey, t = nowSeconds()): KeyState {
  if (key.gh_activate_at !== undefined && key.gh_activate_at > t) return 'next';
  if (key.gh_retire_at !== undefined && key.gh_retire_at <= t) return 'retired';
  return 'active';
}

/**
 * The keystore oidc-provider gets at time `t`: every key is published (so tokens signed by a
 * retired key still verify and a next key is known before it signs), but only active keys may
 * sign: the others carry `key_ops: ["verify"]`, which oidc-provider's key selection honours.
 * Active keys keep file order, and rotation puts new keys first, so the newest active key of an
 * algorithm signs.
 */
export function effectiveJwks(keys: StoredKey[], t = nowSeconds()): { keys: JWK[] } {
  return {
    keys: keys.map(({ gh_activate_at: _a, gh_retire_at: _r, gh_created_at: _c, key_ops: _ops, ...jwk }) => {
      const state = keyState({ ...jwk, gh_activate_at: _a, gh_retire_at: _r }, t);
      return state === 'active' ? jwk : { ...jwk, key_ops: ['verify'] };
    }),
  };
}

/** The next moment (epoch seconds, after `t`) at which some key changes state, if any. */
export function nextTransition(keys: StoredKey[], t = nowSeconds()): number | undefined {
  const times = keys.flatMap((k) => [k.gh_activate_at, k.gh_retire_at]).filter((x): x is number => x !== undefined && x > t);
  return times.length ? Math.min(...times) : undefined;
}

/** Reads the keys file (`{"keys": [...]}` of private JWKs, each with a kid); throws ConfigError when it cannot. */
export function readKeyFile(path: string): StoredKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`GATEHOUSE_JWKS_FILE: ${path} is not a readable JWKS JSON file (${(err as Error).message})`]);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => k && typeof k === 'object' && 'd' in k && typeof k.kid === 'string')) {
    throw new ConfigError([`GATEHOUSE_JWKS_FILE: ${path} must hold {"keys": [...]} of private keys, each with a kid`]);
  }
  return keys as StoredKey[];
}

/** Writes the keys file with mode 0600. */
export function writeKeyFile(path: string, keys: StoredKey[]): void {
  writeSecretFile(path, `${JSON.stringify({ keys }, null, 2)}\n`);
}
