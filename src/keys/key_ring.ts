import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
import { calculateJwkThumbprint, type JWK } from 'jose';
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

/** Creates a signing key with a thumbprint `kid` (RFC 7638). */
export async function generateSigningKey(alg: 'RS256' | 'ES256'): Promise<JWK> {
  const { privateKey } =
    alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

const now = () => Math.floor(Date.now() / 1000);

/** Where a key is in its life at time `t` (epoch seconds). */
export function keyState(key: StoredKey, t = now()): KeyState {
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
export function effectiveJwks(keys: StoredKey[], t = now()): { keys: JWK[] } {
  return {
    keys: keys.map(({ gh_activate_at: _a, gh_retire_at: _r, gh_created_at: _c, key_ops: _ops, ...jwk }) => {
      const state = keyState({ ...jwk, gh_activate_at: _a, gh_retire_at: _r }, t);
      return state === 'active' ? jwk : { ...jwk, key_ops: ['verify'] };
    }),
  };
}

/** The next moment (epoch seconds, after `t`) at which some key changes state, if any. */
export function nextTransition(keys: StoredKey[], t = now()): number | undefined {
  const times = keys.flatMap((k) => [k.gh_activate_at, k.gh_retire_at]).filter((x): x is number => x !== undefined && x > t);
  return times.length ? Math.min(...times) : undefined;
}

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

export function writeKeyFile(path: string, keys: StoredKey[]): void {
  writeSecretFile(path, `${JSON.stringify({ keys }, null, 2)}\n`);
}

/**
 * Rotation: new RS256 and ES256 keys that start signing after `activateIn` seconds (published
 * from now on), while the currently active keys retire at that same moment.
 * @returns the new keys' kids.
 */
export async function rotate(keys: StoredKey[], activateIn: number, t = now()): Promise<{ keys: StoredKey[]; added: string[] }> {
  const activateAt = t + activateIn;
  const fresh: StoredKey[] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    fresh.push({ ...(await generateSigningKey(alg)), gh_created_at: t, gh_activate_at: activateAt });
  }
  const aged = keys.map((k) => (keyState(k, t) === 'active' && (k.gh_retire_at === undefined || k.gh_retire_at > activateAt) ? { ...k, gh_retire_at: activateAt } : k));
  return { keys: [...fresh, ...aged], added: fresh.map((k) => k.kid!) };
}

/** Removes keys retired for longer than `grace` seconds. Never removes the last active key of an algorithm. */
export function prune(keys: StoredKey[], grace: number, t = now()): { keys: StoredKey[]; removed: string[] } {
  const removed = keys.filter((k) => k.gh_retire_at !== undefined && k.gh_retire_at + grace <= t).map((k) => k.kid!);
  return { keys: keys.filter((k) => !removed.includes(k.kid!)), removed };
}

/**
 * Watches the keys file and the clock: calls `onChange` with the effective JWKS whenever the
 * file changes on disk (a rotated Secret, `gatehouse keys rotate`) or a key reaches its
 * activation or retirement time. Every replica computes the same result from the same file.
 */
export class KeyRing {
  #path: string;
  #timer: NodeJS.Timeout | undefined;
  #onChange: (jwks: { keys: JWK[] }) => void;
  #onError: (err: Error) => void;
  #mtime = 0;

  constructor(path: string, onChange: (jwks: { keys: JWK[] }) => void, onError: (err: Error) => void) {
    this.#path = path;
    this.#onChange = onChange;
    this.#onError = onError;
  }

  /** The effective JWKS now; starts watching. */
  start(pollMs = 2000): { keys: JWK[] } {
    const keys = readKeyFile(this.#path);
    this.#mtime = statSync(this.#path).mtimeMs;
    this.#schedule(keys);
    watchFile(this.#path, { interval: pollMs, persistent: false }, (curr) => {
      if (curr.mtimeMs === this.#mtime || curr.mtimeMs === 0) return;
      this.#mtime = curr.mtimeMs;
      this.#reload();
    });
    return effectiveJwks(keys);
  }

  #reload(): void {
    try {
      const keys = readKeyFile(this.#path);
      this.#schedule(keys);
      this.#onChange(effectiveJwks(keys));
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  #schedule(keys: StoredKey[]): void {
    clearTimeout(this.#timer);
    const at = nextTransition(keys);
    if (at === undefined) return;
    // setTimeout caps at ~24.8 days; a later transition is re-scheduled when this one fires.
    const delay = Math.min((at - now()) * 1000 + 50, 2 ** 31 - 1);
    this.#timer = setTimeout(() => this.#reload(), delay);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    unwatchFile(this.#path);
  }
}
