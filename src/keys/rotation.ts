import type { SigningAlg } from './key_algorithms.ts';
import { keyState, nowSeconds, type StoredKey } from './key_file.ts';
import { generateSigningKey, generateSuccessor } from './key_generation.ts';

/*
 * The `gatehouse keys add|rotate|prune` operations on the keys file's content. Pure functions of the
 * keys and the time; the command reads and writes the file, and every running replica picks the
 * result up through its KeyRing.
 */

/**
 * The active keys that need a successor: one per kind and `alg` (the first in file order, which
 * is the newest), so two active RS256 keys get one successor and an EdDSA key gets its own.
 */
function predecessors(keys: StoredKey[], t: number): StoredKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    if (keyState(k, t) !== 'active') return false;
    const kind = `${k.kty} ${k.crv ?? ''} ${k.alg ?? ''}`;
    if (seen.has(kind)) return false;
    seen.add(kind);
    return true;
  });
}

/**
 * Rotation: a successor for each kind of active key (RSA keeping its alg, EC P-256/384/521,
 * Ed25519/Ed448) that starts signing after `activateIn` seconds (published from now on), while
 * the currently active keys retire at that same moment; so every algorithm that signs before
 * signs after. With no active key at all, the RS256 and ES256 keys a new keys file starts with.
 * @returns the new keys' kids.
 * @throws ConfigError when an active key is of a kind that cannot be generated (nothing is changed)
 */
export async function rotate(keys: StoredKey[], activateIn: number, t = nowSeconds()): Promise<{ keys: StoredKey[]; added: string[] }> {
  const activateAt = t + activateIn;
  const old = predecessors(keys, t);
  const generated = old.length ? await Promise.all(old.map(generateSuccessor)) : await Promise.all([generateSigningKey('RS256'), generateSigningKey('ES256')]);
  const fresh: StoredKey[] = generated.map((k) => ({ ...k, gh_created_at: t, gh_activate_at: activateAt }));
  const aged = keys.map((k) => (keyState(k, t) === 'active' && (k.gh_retire_at === undefined || k.gh_retire_at > activateAt) ? { ...k, gh_retire_at: activateAt } : k));
  return { keys: [...fresh, ...aged], added: fresh.map((k) => k.kid!) };
}

/**
 * A key for `alg` (say EdDSA for an API whose signingAlg no key signs yet), published now and
 * signing after `activateIn` seconds; from then on rotation gives it successors like any other.
 * @returns the new key's kid.
 */
export async function addKey(keys: StoredKey[], alg: SigningAlg, activateIn: number, t = nowSeconds()): Promise<{ keys: StoredKey[]; added: string }> {
  const key: StoredKey = { ...(await generateSigningKey(alg)), gh_created_at: t, gh_activate_at: t + activateIn };
  return { keys: [key, ...keys], added: key.kid! };
}

/** Removes keys retired for longer than `grace` seconds. Never removes the last active key of an algorithm. */
export function prune(keys: StoredKey[], grace: number, t = nowSeconds()): { keys: StoredKey[]; removed: string[] } {
  const removed = keys.filter((k) => k.gh_retire_at !== undefined && k.gh_retire_at + grace <= t).map((k) => k.kid!);
  return { keys: keys.filter((k) => !removed.includes(k.kid!)), removed };
}
