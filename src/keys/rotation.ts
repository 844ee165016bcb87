import { generateSigningKey, keyState, nowSeconds, type StoredKey } from './key_file.ts';

/*
 * The `gatehouse keys rotate|prune` operations on the keys file's content. Pure functions of the
 * keys and the time; the command reads and writes the file, and every running replica picks the
 * result up through its KeyRing.
 */

/**
 * Rotation: new RS256 and ES256 keys that start signing after `activateIn` seconds (published
 * from now on), while the currently active keys retire at that same moment.
 * @returns the new keys' kids.
 */
export async function rotate(keys: StoredKey[], activateIn: number, t = nowSeconds()): Promise<{ keys: StoredKey[]; added: string[] }> {
  const activateAt = t + activateIn;
  const fresh: StoredKey[] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    fresh.push({ ...(await generateSigningKey(alg)), gh_created_at: t, gh_activate_at: activateAt });
  }
  const aged = keys.map((k) => (keyState(k, t) === 'active' && (k.gh_retire_at === undefined || k.gh_retire_at > activateAt) ? { ...k, gh_retire_at: activateAt } : k));
  return { keys: [...fresh, ...aged], added: fresh.map((k) => k.kid!) };
}

/** Removes keys retired for longer than `grace` seconds. Never removes the last active key of an algorithm. */
export function prune(keys: StoredKey[], grace: number, t = nowSeconds()): { keys: StoredKey[]; removed: string[] } {
  const removed = keys.filter((k) => k.gh_retire_at !== undefined && k.gh_retire_at + grace <= t).map((k) => k.kid!);
  return { keys: keys.filter((k) => !removed.includes(k.kid!)), removed };
}
