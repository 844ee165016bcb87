import { createHash, randomBytes } from 'node:crypto';
import { digestId } from '../shared/random_id.ts';
import type { Store } from './adapter.ts';

/**
 * Initial access tokens for dynamic client registration (RFC 7591 §3): created by an operator
 * with `gatehouse registration-token create`, shown once, stored only as a SHA-256 hash with
 * their expiry and optional use limit. Uses are counted with the store's atomic counter, so
 * replicas sharing the store never let a token register more clients than it allows.
 */
export const REGISTRATION_TOKEN_MODEL = 'RegistrationToken';

/** What is stored for a token (never the token itself). */
export interface RegistrationTokenRecord {
  createdAt: number;
  expiresAt: number;
  /** Registrations allowed; null means unlimited until expiry. */
  uses: number | null;
}

export interface CreatedRegistrationToken {
  /** The bearer value; shown to the operator once. */
  token: string;
  /** Hash under which it is stored (safe to print, e.g. to revoke). */
  id: string;
  expiresAt: number;
  uses: number | null;
}

export type RedeemResult = 'ok' | 'unknown' | 'exhausted';

/** The id a token is stored under: `iat_` and its SHA-256 (never starts with `-`). */
export function hashRegistrationToken(token: string): string {
  return digestId('iat', token);
}

/** Tokens created before ids had a prefix are stored under the bare SHA-256. */
function legacyId(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

async function findToken(store: Store, token: string): Promise<{ id: string; record: RegistrationTokenRecord } | undefined> {
  for (const id of [hashRegistrationToken(token), legacyId(token)]) {
    const record = (await store.find(REGISTRATION_TOKEN_MODEL, id)) as RegistrationTokenRecord | undefined;
    if (record) return { id, record };
  }
  return undefined;
}

export async function createRegistrationToken(store: Store, options: { ttlSeconds: number; uses?: number }): Promise<CreatedRegistrationToken> {
  const token = `ghiat_${randomBytes(32).toString('base64url')}`;
  const id = hashRegistrationToken(token);
  const createdAt = Math.floor(Date.now() / 1000);
  const record: RegistrationTokenRecord = { createdAt, expiresAt: createdAt + options.ttlSeconds, uses: options.uses ?? null };
  await store.upsert(REGISTRATION_TOKEN_MODEL, id, { ...record }, options.ttlSeconds);
  return { token, id, expiresAt: record.expiresAt, uses: record.uses };
}

/**
 * Checks a presented token and counts one use. Every registration request made with a valid
 * token counts, whether or not its metadata is then accepted: counting first is what keeps the
 * limit exact under concurrency.
 */
export async function redeemRegistrationToken(store: Store, token: string): Promise<RedeemResult> {
  const found = await findToken(store, token);
  if (!found) return 'unknown';
  const { id, record } = found;
  if (record.uses === null) return 'ok';
  const window = Math.max(1, record.expiresAt - Math.floor(Date.now() / 1000));
  const { count } = await store.increment(`registration_token_uses:${id}`, window);
  return count <= record.uses ? 'ok' : 'exhausted';
}

/** Live tokens (their hashes and limits), oldest first. */
export async function listRegistrationTokens(store: Store): Promise<Array<RegistrationTokenRecord & { id: string }>> {
  const rows = await store.list(REGISTRATION_TOKEN_MODEL, { limit: 10_000 });
  return rows.map(({ id, payload }) => ({ id, ...(payload as unknown as RegistrationTokenRecord) })).sort((a, b) => a.createdAt - b.createdAt);
}

/** Revokes a token by its id (the hash printed at creation). False when no live token has it. */
export async function revokeRegistrationToken(store: Store, id: string): Promise<boolean> {
  if (!(await store.find(REGISTRATION_TOKEN_MODEL, id))) return false;
  await store.destroy(REGISTRATION_TOKEN_MODEL, id);
  return true;
}
