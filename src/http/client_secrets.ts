import type { Context, Middleware, Next } from 'koa';
import { hashClientSecret, isHashedClientSecret } from '../clients/client_secret.ts';
import { credentialsFor } from './authorization.ts';
import { readBodyText, readFormBody, readFormParams, replaceBodyText, replaceFormBody } from './form_body.ts';

/*
 * No path is matched here: oidc-provider's router folds case and ignores a trailing slash
 * (`POST /TOKEN`, `/token/`), so a list of paths would let the stored hash through unhashed as
 * a secret. Every `client_secret` in any form or JSON update is hashed, and every hashed one is
 * taken out of any response.
 */

/** RFC 6749 §2.3.1: Basic credentials are application/x-www-form-urlencoded before base64. */
function formDecode(value: string): string {
  // Most ids and secrets have nothing to decode: skip the two passes over them.
  if (!value.includes('%') && !value.includes('+')) return value;
  return decodeURIComponent(value.replace(/\+/g, '%20'));
}

/** Characters encodeURIComponent leaves as they are (RFC 3986 §2.3 unreserved, plus its own few). */
const UNESCAPED = /^[A-Za-z0-9_.!~*'()-]*$/;

/**
 * Base64 as oidc-provider accepts it in Basic credentials: the alphabet, and padding either absent
 * (a length that is not 1 more than a multiple of 4) or exactly what the length needs. Anything
 * else is left as it is, for oidc-provider to refuse as it would have — not decoded leniently by
 * Buffer and sent on re-encoded, well-formed.
 */
function isStrictBase64(value: string): boolean {
  const match = /^([A-Za-z0-9+/]+)(={0,2})$/.exec(value);
  if (!match) return false;
  const data = match[1]!.length;
  const padding = match[2]!.length;
  return padding === 0 ? data % 4 !== 1 : (data + padding) % 4 === 0 && padding === 4 - (data % 4);
}

/** `Basic` credentials with the secret replaced by its hash; undefined when they do not parse. */
function hashedBasic(credentials: string): string | undefined {
  if (!isStrictBase64(credentials)) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  try {
    const rawId = decoded.slice(0, colon);
    // An id of plain characters decodes and re-encodes to itself (the usual case).
    const id = UNESCAPED.test(rawId) ? rawId : encodeURIComponent(formDecode(rawId));
    const secret = formDecode(decoded.slice(colon + 1));
    if (!secret) return undefined;
    return Buffer.from(`${id}:${encodeURIComponent(hashClientSecret(secret))}`).toString('base64');
  } catch {
    return undefined;
  }
}

/**
 * In front of oidc-provider, which compares client secrets itself: every secret a client
 * presents — HTTP Basic, `client_secret` in a form body, `client_secret` in a JSON update
 * (RFC 7592), on whatever path — is replaced by its hash (clients/client_secret.ts), the only
 * form Gatehouse keeps. Malformed credentials are left as they are, for oidc-provider to refuse
 * as before. No response carries a hashed `client_secret` (RFC 7592 reads included): only the
 * hash exists after registration.
 * @see RFC 6749 §2.3.1, RFC 7591 §3.2.1, RFC 7592 §2.1–2.2
 */
export function clientSecretHashing(): Middleware {
  return async function hashPresentedSecret(ctx: Context, next: Next): Promise<void> {
    const basic = credentialsFor(ctx.req.headers.authorization, 'basic');
    if (basic) {
      const hashed = hashedBasic(basic);
      if (hashed) ctx.req.headers.authorization = `Basic ${hashed}`;
    }
    await hashFormSecret(ctx);
    if (ctx.method === 'PUT' && ctx.is('application/json')) await hashJsonSecret(ctx);
    await next();
    if (ctx.body && typeof ctx.body === 'object' && isHashedClientSecret((ctx.body as { client_secret?: unknown }).client_secret)) {
      delete (ctx.body as { client_secret?: unknown }).client_secret;
    }
  };
}

/**
 * True when some parameter name is spelled `client_secret` or carries a percent-escape (which
 * could decode to it): only then is the form parsed. A name without `%` decodes to itself (`+`
 * becomes a space, which `client_secret` has none of), so this never misses a secret.
 */
function mayNameClientSecret(body: string): boolean {
  return body.includes('client_secret') || /(?:^|&)[^=&]*%/.test(body);
}

async function hashFormSecret(ctx: Context): Promise<void> {
  const body = await readFormBody(ctx);
  if (body === undefined || !mayNameClientSecret(body)) return;
  const params = (await readFormParams(ctx))!;
  const secret = params.get('client_secret');
  // Sent twice: left as it is, for oidc-provider to refuse (a set() would keep one and drop the other).
  if (!secret || params.getAll('client_secret').length > 1) return;
  // The parsed form is shared (read-only): the hashed one is a copy.
  const form = new URLSearchParams(params);
  form.set('client_secret', hashClientSecret(secret));
  replaceFormBody(ctx, form);
}

async function hashJsonSecret(ctx: Context): Promise<void> {
  const text = await readBodyText(ctx);
  if (text === undefined) return;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return;
  }
  if (body && typeof body === 'object' && typeof (body as { client_secret?: unknown }).client_secret === 'string') {
    const secret = (body as { client_secret: string }).client_secret;
    replaceBodyText(ctx, JSON.stringify({ ...body, client_secret: hashClientSecret(secret) }));
  }
}
