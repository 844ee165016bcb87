import type { KoaContextWithOIDC } from 'oidc-provider';

/** How the person behind a token authenticated, as carried in the access token's `extra`. */
export interface TokenAuthentication {
  /** RFC 8176 methods: `pwd`, plus `otp` after a TOTP code. */
  amr?: string[];
  acr?: string;
  /** The POSIX login (`preferred_username`), for RFC 7662 §2.2 `username` in introspection. */
  username?: string;
  [claim: string]: unknown;
}

type Source = { amr?: unknown; acr?: unknown } | undefined;

/**
 * oidc-provider's `extraTokenClaims`: copies `amr`/`acr` of the authentication the grant came
 * from (device code, authorization code or refresh token) and the account's username onto access
 * tokens. Introspection answers them as they are (`username`, `amr`, `acr`; RFC 7662 §2.2) and
 * userinfo reads `amr`/`acr` back from the token (an SSH host checks MFA with either).
 * @see RFC 7662 §2.2, RFC 8176, RFC 9068 §2.2.1
 */
export async function tokenAuthentication(ctx: KoaContextWithOIDC | undefined): Promise<TokenAuthentication | undefined> {
  // Tokens saved outside a request (administrative code, tests) have no context to copy from.
  const e = ctx?.oidc?.entities as Record<string, unknown> | undefined;
  if (!e) return undefined;
  const source = (e.DeviceCode ?? e.AuthorizationCode ?? e.RefreshToken) as Source;
  const out: TokenAuthentication = {};
  if (Array.isArray(source?.amr) && source.amr.every((m) => typeof m === 'string')) out.amr = source.amr as string[];
  if (typeof source?.acr === 'string') out.acr = source.acr;
  const username = (e.Account as { username?: unknown } | undefined)?.username;
  if (typeof username === 'string') out.username = username;
  return Object.keys(out).length ? out : undefined;
}

/** `amr`/`acr` of the access token userinfo was called with, for the userinfo response. */
export function authenticationOf(token: unknown): Pick<TokenAuthentication, 'amr' | 'acr'> {
  const extra = (token as { extra?: TokenAuthentication } | undefined)?.extra;
  if (!extra || typeof extra !== 'object') return {};
  return { ...(extra.amr ? { amr: extra.amr } : {}), ...(extra.acr ? { acr: extra.acr } : {}) };
}
