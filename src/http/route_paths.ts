import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';

/**
 * The two paths oidc-provider serves its discovery document at, fixed by the specifications. Its
 * router names both routes `discovery`, so `pathFor('discovery')` answers only the one registered
 * first (`/.well-known/oauth-authorization-server`).
 * @see OpenID Connect Discovery 1.0 §4
 * @see RFC 8414 §3
 */
export const DISCOVERY_PATHS: readonly string[] = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];

/**
 * oidc-provider's other fixed-path routes (its `routes` configuration and the paths it derives
 * from them), by the names its router gives them.
 */
const ROUTE_NAMES = [
  'authorization', 'backchannel_authentication', 'challenge', 'code_verification', 'credential', 'device_authorization',
  'end_session', 'end_session_confirm', 'end_session_success', 'introspection', 'jwks',
  'pushed_authorization_request', 'registration', 'revocation', 'token', 'userinfo',
] as const;

/** ASCII case folding only: oidc-provider's router never lets a non-ASCII character match an ASCII one. */
const fold = (path: string) => path.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Rewrites the request path of any spelling oidc-provider's router accepts for one of its
 * fixed-path endpoints — any ASCII case, one trailing slash (`POST /TOKEN`, `/Reg`, `/device/`,
 * `/.WELL-KNOWN/OPENID-CONFIGURATION`) — to the endpoint's own path, before any of our
 * middleware looks at it. Our middleware in front of oidc-provider (registration policy, rate
 * limits, the user code lockout, the edits of both discovery documents, the document cache)
 * compares `ctx.path` with that path; without this, another spelling reached the endpoint
 * without passing the guard, or got the document without our edits.
 */
export function canonicalRoutePaths(provider: Provider): Middleware {
  const canonical = new Map<string, string>();
  for (const path of DISCOVERY_PATHS) canonical.set(fold(path), path);
  for (const name of ROUTE_NAMES) {
    let path: string;
    try {
      path = provider.pathFor(name, { mountPath: '' });
    } catch {
      continue; // a route this configuration does not serve
    }
    canonical.set(fold(path), path);
  }
  // Not async: it only prepares the request, so it hands on next()'s promise (no extra frame per request).
  return function canonicalRoutePath(ctx: Context, next: Next): Promise<void> {
    let key = fold(ctx.path);
    if (!canonical.has(key) && key.length > 1 && key.endsWith('/')) key = key.slice(0, -1);
    const path = canonical.get(key);
    if (path !== undefined && path !== ctx.path) ctx.path = path;
    return next();
  };
}
