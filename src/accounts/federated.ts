import { randomUUID } from 'node:crypto';
import type { ConnectorConfig } from '../config/connectors.ts';
import type { Store } from '../storage/adapter.ts';
import { type Account, ACCOUNT, ACCOUNT_LINK, ACCOUNT_NAME, Accounts, linkKey } from './account.ts';

/** Why an upstream identity may not sign in here. */
export type Refusal = 'domain' | 'group' | 'disabled' | 'claims';

export type FederatedResult = { ok: true; account: Account; created: boolean } | { ok: false; reason: Refusal; account?: Account };

/** What Gatehouse keeps of an upstream identity, mapped per the connector's claim names. */
export interface MappedClaims {
  subject: string;
  username: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
  groups: string[];
  uidNumber?: number;
  gidNumber?: number;
}

const str = (v: unknown, max = 256): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);

function posixId(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 4294967294 ? n : undefined;
}

/** Maps upstream claims; returns undefined when there is no usable subject. */
export function mapClaims(connector: ConnectorConfig, claims: Record<string, unknown>): MappedClaims | undefined {
  const subject = str(claims.sub, 255);
  if (!subject) return undefined;
  const map = connector.claims;
  const email = str(claims[map.email]);
  const rawGroups = claims[map.groups];
  const groups = (Array.isArray(rawGroups) ? rawGroups : typeof rawGroups === 'string' ? [rawGroups] : [])
    .filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= 256)
    .slice(0, 500);
  const uidNumber = map.uidNumber ? posixId(claims[map.uidNumber]) : undefined;
  const gidNumber = map.gidNumber ? posixId(claims[map.gidNumber]) : undefined;
  return {
    subject,
    username: str(claims[map.username]) ?? email ?? subject,
    email,
    emailVerified: claims.email_verified === true || claims.email_verified === 'true',
    name: str(claims[map.name]),
    groups: [...new Set(groups)],
    // uid and gid come together or not at all, as for local accounts.
    ...(uidNumber !== undefined && gidNumber !== undefined ? { uidNumber, gidNumber } : {}),
  };
}

/** Who a connector lets in; the OpenID Connect and LDAP connectors share it. */
export interface ConnectorPolicy {
  allowedEmailDomains: string[];
  /** Only a verified address counts for the domain check (default true). */
  requireVerifiedEmail?: boolean;
  requiredGroups: string[];
}

/** The connector's policy: allowed email domains (verified addresses only, by default) and required groups. */
export function checkPolicy(connector: ConnectorPolicy, m: MappedClaims): Refusal | undefined {
  if (connector.allowedEmailDomains.length) {
    const domain = m.email?.split('@').at(-1)?.toLowerCase();
    const verified = m.emailVerified || connector.requireVerifiedEmail === false;
    if (!domain || !verified || !connector.allowedEmailDomains.includes(domain)) return 'domain';
  }
  if (connector.requiredGroups.length && !m.groups.some((g) => connector.requiredGroups.includes(g))) return 'group';
  return undefined;
}

/** Where an identity comes from: the connector's id and the namespace its subjects live in. */
export interface IdentitySource {
  connector: string;
  /** The upstream's issuer URL, or `ldap:<connector id>` for a directory. */
  issuer: string;
}

/** `corp:alice`: the operator's handle for an upstream account (local usernames cannot contain ':'). */
function handleFor(connector: string, username: string): string {
  const slug = username.toLowerCase().replace(/[^a-z0-9._@-]+/g, '-').slice(0, 64) || 'user';
  return `${connector}:${slug}`;
}

/**
 * Signs an upstream identity in: the account keyed by upstream issuer + subject (never by email),
 * created on first sign-in, claims and groups refreshed every time; policy first, so people the
 * connector refuses get no account.
 */
export async function federatedSignIn(store: Store, connector: ConnectorConfig, claims: Record<string, unknown>): Promise<FederatedResult> {
  const m = mapClaims(connector, claims);
  if (!m) return { ok: false, reason: 'claims' };
  const refusal = checkPolicy(connector, m);
  if (refusal) return { ok: false, reason: refusal };
  return linkIdentity(store, { connector: connector.id, issuer: connector.issuer }, m);
}

/** What an account takes from its source at each sign-in or re-check (`now` in seconds). */
export function sourceFields(source: IdentitySource, m: MappedClaims, now: number) {
  return {
    name: m.name,
    email: m.email,
    emailVerified: m.emailVerified,
    groups: m.groups,
    uidNumber: m.uidNumber,
    gidNumber: m.gidNumber,
    upstream: { connector: source.connector, issuer: source.issuer, subject: m.subject, username: m.username },
    updatedAt: now,
    checkedAt: now,
    // The source vouching again (a sign-in, an active re-check) lifts an earlier refusal.
    refusedBySource: undefined,
  };
}

/**
 * The account of an identity that passed its connector's policy: keyed by source + subject (never
 * by email), created on first sign-in, claims and groups refreshed every time, so a renamed
 * person keeps their account.
 */
export async function linkIdentity(store: Store, source: IdentitySource, m: MappedClaims): Promise<FederatedResult> {
  const accounts = new Accounts(store);
  const key = linkKey(source.issuer, m.subject);
  const now = Math.floor(Date.now() / 1000);
  const fields = sourceFields(source, m, now);
  let created = false;
  let link = await store.find(ACCOUNT_LINK, key);
  if (!link) {
    // The record is written before the link, so whoever sees the link finds the account.
    const id = randomUUID();
    let username = handleFor(source.connector, m.username);
    const account: Account = { id, username, disabled: false, passwordHash: '', createdAt: now, ...fields };
    await store.upsert(ACCOUNT, id, { ...account });
    if (await store.insert(ACCOUNT_LINK, key, { accountId: id })) {
      if (!(await store.insert(ACCOUNT_NAME, username, { accountId: id }))) {
        username = `${username.slice(0, 60)}-${id.slice(0, 8)}`;
        await store.upsert(ACCOUNT_NAME, username, { accountId: id });
        await store.upsert(ACCOUNT, id, { ...account, username });
      }
      created = true;
    } else {
      await store.destroy(ACCOUNT, id);
    }
    link = await store.find(ACCOUNT_LINK, key);
  }
  const existing = link && typeof link.accountId === 'string' ? await accounts.findById(link.accountId) : undefined;
  if (!existing) return { ok: false, reason: 'claims' };
  if (existing.disabled) return { ok: false, reason: 'disabled', account: existing };
  const account = created ? existing : await accounts.update(existing, fields);
  return { ok: true, account, created };
}

/**
 * At a re-check of an OpenID Connect connector's account: the fresh upstream claims against the
 * connector's policy, and the account's claims refreshed when it still passes. Returns the
 * refusal, if any.
 */
export async function reviewFederatedAccount(store: Store, connector: ConnectorConfig, account: Account, claims: Record<string, unknown>): Promise<Refusal | undefined> {
  const m = mapClaims(connector, claims);
  if (!m || m.subject !== account.upstream?.subject) return 'claims';
  const refusal = checkPolicy(connector, m);
  if (refusal) return refusal;
  await new Accounts(store).update(account, sourceFields({ connector: connector.id, issuer: connector.issuer }, m, Math.floor(Date.now() / 1000)));
  return undefined;
}
