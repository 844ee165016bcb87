import type { Context, Next } from 'koa';
import { DISCOVERY_PATHS } from './route_paths.ts';

/** Endpoints a certificate-authenticated client calls directly; browser-facing ones stay public. */
const ALIASED = [
  'token_endpoint',
  'revocation_endpoint',
  'introspection_endpoint',
  'device_authorization_endpoint',
  'registration_endpoint',
  'userinfo_endpoint',
  'pushed_authorization_request_endpoint',
  'backchannel_authentication_endpoint',
] as const;

/** Both discovery documents; route_paths.ts has already folded every other spelling to one of these. */
const DISCOVERY = new Set(DISCOVERY_PATHS);

/**
 * Adds `mtls_endpoint_aliases` to both discovery documents (it is authorization server metadata,
 * so RFC 8414's document carries it as well as OpenID Connect's): the same paths on the mTLS
 * listener's configured origin. Every URL comes from configuration (issuer and
 * `GATEHOUSE_MTLS_ORIGIN`), never the request.
 * @see RFC 8705 §5
 */
export function mtlsEndpointAliases(mtlsOrigin: string) {
  const origin = new URL(mtlsOrigin).origin;
  // The endpoint URLs come from the issuer, so they are few: each is parsed once.
  const aliasOf = new Map<string, string>();
  const alias = (url: string) => {
    let out = aliasOf.get(url);
    if (out === undefined) {
      out = `${origin}${new URL(url).pathname}`;
      if (aliasOf.size < 64) aliasOf.set(url, out);
    }
    return out;
  };
  return async function aliases(ctx: Context, next: Next): Promise<void> {
    if (!DISCOVERY.has(ctx.path)) return next();
    await next();
    if (!DISCOVERY.has(ctx.path) || ctx.status !== 200) return;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object') return;
    const out: Record<string, string> = {};
    for (const key of ALIASED) {
      const value = body[key];
      if (typeof value === 'string') out[key] = alias(value);
    }
    body.mtls_endpoint_aliases = out;
  };
}

/**
 * Takes `tls_client_certificate_bound_access_tokens` out of both discovery documents when no
 * client certificate can reach the server (no mTLS listener, no forwarding proxy): oidc-provider
 * keeps the feature on there so that tokens bound earlier are refused, not honoured as bearer
 * tokens, but the server cannot bind new ones (parts/mtls.ts).
 * @see RFC 8705 §3.3
 */
export function withoutCertificateBinding() {
  return async function unadvertised(ctx: Context, next: Next): Promise<void> {
    if (!DISCOVERY.has(ctx.path)) return next();
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.status === 200 && body && typeof body === 'object') delete body.tls_client_certificate_bound_access_tokens;
  };
}
