import { hash } from 'node:crypto';
import type { Store } from '../storage/adapter.ts';

/**
 * Client secrets at rest: only `$sha256$<base64url SHA-256>` of a secret is kept, in the store
 * and in memory. oidc-provider still does the comparison (in constant time), but against the
 * hash: every secret a client presents is hashed first (http/client_secrets.ts), so the stored
 * value is useless as a secret and a copy of the store holds no usable one.
 *
 * A plain (unkeyed) SHA-256 is enough because every secret that reaches the store is generated
 * here — 256 random bits (`gatehouse clients`) or 512 (registration) — so there is nothing to
 * guess, and the hash needs no key that could itself be lost or leaked. It is deterministic, so
 * replicas migrating the same record at once write the same value.
 * @see RFC 7591 §3.2.1 (the secret is returned in the registration response), RFC 6749 §2.3.1
 */
export const CLIENT_SECRET_HASH_PREFIX = '$sha256$';

/** The stored form of a client secret. */
export function hashClientSecret(secret: string): string {
  return `${CLIENT_SECRET_HASH_PREFIX}${hash('sha256', secret, 'base64url')}`;
}

export function isHashedClientSecret(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(CLIENT_SECRET_HASH_PREFIX);
}

/** The metadata with its `client_secret`, if any and not yet hashed, replaced by the hash. */
export function withHashedSecret<T extends object>(metadata: T): T {
  const secret = (metadata as { client_secret?: unknown }).client_secret;
  if (typeof secret !== 'string' || isHashedClientSecret(secret)) return metadata;
  return { ...metadata, client_secret: hashClientSecret(secret) };
}

/**
 * A client record as read from the store, migrated on first use: a record written before
 * secrets were hashed is rewritten with the hash, and the hash is what oidc-provider gets.
 */
export async function migratedClientRecord(store: Store, model: string, id: string, record: Record<string, unknown> | undefined): Promise<Record<string, unknown> | undefined> {
  if (!record || typeof record.client_secret !== 'string' || isHashedClientSecret(record.client_secret)) return record;
  const { consumed: _consumed, ...payload } = record;
  const migrated = withHashedSecret(payload);
  await store.upsert(model, id, migrated);
  return migrated;
}
