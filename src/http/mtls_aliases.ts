import type { Context, Next } from 'koa';

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

const DISCOVERY = '/.well-known/openid-configuration';

/**
 * Adds `mtls_endpoint_aliases` to discovery: the same paths on the mTLS listener's configured
 * origin. Every URL comes from configuration (issuer and `GATEHOUSE_MTLS_ORIGIN`), never the request.
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
    if (ctx.path !== DISCOVERY) return next();
    await next();
    if (ctx.path !== DISCOVERY || ctx.status !== 200) return;
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
