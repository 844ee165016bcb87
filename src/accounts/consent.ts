import type { Store } from '../storage/adapter.ts';

/** Scopes a person agreed to give one client, remembered so the consent page is not shown again. */
export interface Consent {
  scope: string;
}

const CONSENT = 'Consent';
const key = (accountId: string, clientId: string) => `${accountId}:${clientId}`;

export async function rememberedConsent(store: Store, accountId: string, clientId: string): Promise<Consent | undefined> {
  const found = await store.find(CONSENT, key(accountId, clientId));
  return found && typeof found.scope === 'string' ? { scope: found.scope } : undefined;
}

/** Adds scopes to what is remembered for this account and client. */
export async function rememberConsent(store: Store, accountId: string, clientId: string, scopes: string[], ttlSeconds: number): Promise<void> {
  const before = await rememberedConsent(store, accountId, clientId);
  const all = new Set([...(before?.scope.split(' ') ?? []), ...scopes].filter(Boolean));
  await store.upsert(CONSENT, key(accountId, clientId), { scope: [...all].join(' ') }, ttlSeconds);
}
