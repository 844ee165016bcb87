import type { Context, Middleware, Next } from 'koa';

/** An `Authorization` header split into its scheme and credentials. */
export interface AuthorizationCredentials {
  /** The authentication scheme, lower-cased (schemes are case-insensitive). */
  scheme: string;
  /** The token68 or auth-param list after the scheme, without surrounding whitespace. */
  credentials: string;
}

// RFC 9110 §5.6.2 token characters.
const HEADER = /^[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]+(\S(?:.*\S)?)[ \t]*$/;

/** The spelling oidc-provider and the RFCs use for the schemes we speak. */
const CANONICAL: Record<string, string> = { bearer: 'Bearer', basic: 'Basic', dpop: 'DPoP' };

/**
 * Parses `Authorization: <scheme> <credentials>` the way RFC 9110 §11.1 and §11.6.2 define it:
 * the scheme is case-insensitive and one or more spaces or tabs separate it from the
 * credentials (RFC 6750 §2.1 for Bearer, RFC 7617 §2 for Basic). Undefined when the header is
 * absent or has no credentials.
 */
export function parseAuthorization(header: string | undefined): AuthorizationCredentials | undefined {
  if (!header) return undefined;
  const m = HEADER.exec(header);
  if (!m) return undefined;
  return { scheme: m[1]!.toLowerCase(), credentials: m[2]! };
}

/** The credentials of a header with the given scheme (`bearer`, `basic`), else undefined. */
export function credentialsFor(header: string | undefined, scheme: string): string | undefined {
  const parsed = parseAuthorization(header);
  return parsed?.scheme === scheme.toLowerCase() ? parsed.credentials : undefined;
}

/**
 * Rewrites a well-formed single-credential `Authorization` header into the one spelling
 * oidc-provider parses (`Bearer <token>`: canonical scheme, one space), so every endpoint behind
 * it — userinfo, RFC 7592 client management, Basic client authentication at token,
 * introspection and revocation — accepts any scheme case and any run of spaces or tabs.
 * Anything else is passed on untouched for oidc-provider to refuse as before.
 * @see RFC 9110 §11.1, §11.6.2; RFC 6750 §2.1
 */
export function canonicalAuthorization(): Middleware {
  return function canonical(ctx: Context, next: Next): Promise<void> {
    const header = ctx.req.headers.authorization;
    const parsed = parseAuthorization(header);
    // Credentials with inner whitespace are auth-params (not token68): not ours to reshape.
    if (parsed && !/[ \t]/.test(parsed.credentials)) {
      ctx.req.headers.authorization = `${CANONICAL[parsed.scheme] ?? parsed.scheme} ${parsed.credentials}`;
    }
    return next();
  };
}
