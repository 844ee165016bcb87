import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../storage/adapter.ts';

const MODEL = 'InteractionCsrf';

/**
 * One random token per interaction, kept in the store (any replica can check it) for as long as
 * the interaction lives. Forms carry it; the interaction cookie (SameSite=Lax) already keeps
 * cross-site POSTs out, the token is the second lock.
 */
export async function csrfToken(store: Store, uid: string, ttlSeconds: number): Promise<string> {
  const found = await store.find(MODEL, uid);
  if (found && typeof found.token === 'string') return found.token;
  const token = randomBytes(24).toString('base64url');
  await store.upsert(MODEL, uid, { token }, ttlSeconds);
  return token;
}

export async function checkCsrf(store: Store, uid: string, given: string | undefined): Promise<boolean> {
  const found = await store.find(MODEL, uid);
  if (!found || typeof found.token !== 'string' || typeof given !== 'string') return false;
  const a = Buffer.from(found.token);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
