import type { Account } from './account.ts';

/**
 * Which claims each scope releases. `groups` and `posix` are Gatehouse's own scopes; `posix`
 * carries the numeric ids SSH/PAM-style account mapping needs.
 */
export const SCOPE_CLAIMS: Record<string, string[]> = {
  openid: ['sub'],
  profile: ['name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
  posix: ['uid_number', 'gid_number'],
};

/** `acr` values: password alone, password and a TOTP code, or a sign-in at an upstream provider. */
export const ACR = { password: 'urn:gatehouse:pwd', mfa: 'urn:gatehouse:mfa', upstream: 'urn:gatehouse:upstream' } as const;

/** How each scope is described on confirmation and consent pages. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Confirm who you are (your account identifier)',
  profile: 'Your name and username',
  email: 'Your email address',
  groups: 'The groups you belong to',
  posix: 'Your numeric Unix user and group ids',
  offline_access: 'Stay signed in: keep access until you sign out or it expires',
};

/** Plain-words descriptions for a space-separated scope string; unknown scopes are listed by name. */
export function describeScopes(scope: string | undefined): string[] {
  const names = (scope ?? '').split(' ').filter(Boolean);
  return names.map((s) => SCOPE_DESCRIPTIONS[s] ?? `Access named "${s}"`);
}

/** All claims of an account; oidc-provider releases only those the granted scopes name. */
export function accountClaims(account: Account): Record<string, unknown> {
  return {
    sub: account.id,
    preferred_username: account.upstream?.username ?? account.username,
    name: account.name ?? account.upstream?.username ?? account.username,
    updated_at: account.updatedAt ?? account.createdAt,
    ...(account.email ? { email: account.email, email_verified: account.emailVerified } : {}),
    groups: account.groups,
    ...(account.uidNumber !== undefined ? { uid_number: account.uidNumber, gid_number: account.gidNumber } : {}),
  };
}
