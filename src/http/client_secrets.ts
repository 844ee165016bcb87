import type { Context, Middleware, Next } from 'koa';
import { hashClientSecret, isHashedClientSecret } from '../provider/client_secret.ts';
import { credentialsFor } from './authorization.ts';
import { readBodyText, readFormBody, replaceBodyText, replaceFormBody } from './form_body.ts';

/** oidc-provider's endpoints that authenticate clients (RFC 6749 §2.3.1 client_secret_post). */
const CLIENT_AUTH_PATHS = new Set(['/token', '/token/introspection', '/token/revocation', '/device/auth']);
/** RFC 7592 client configuration endpoint. */
const CLIENT_CONFIGURATION = /^\/reg\/[^/]+$/;

/** RFC 6749 §2.3.1: Basic credentials are application/x-www-form-urlencoded before base64. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, '%20'));
}

/** `Basic` credentials with the secret replaced by its hash; undefined when they do not parse. */
function hashedBasic(credentials: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  try {
    const id = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (!secret) return undefined;
    return Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(hashClientSecret(secret))}`).toString('base64');
  } catch {
    return undefined;
  }
}

/**
 * In front of oidc-provider, which compares client secrets itself: every secret a client
 * presents — HTTP Basic on any endpoint, `client_secret` in the form at the client
 * authentication endpoints, `client_secret` in an RFC 7592 update — is replaced by its hash
 * (provider/client_secret.ts), the only form Gatehouse keeps. Malformed credentials are left
 * as they are, for oidc-provider to refuse as before. Responses of the RFC 7592 endpoint carry
 * no `client_secret`: only its hash exists after registration.
 * @see RFC 6749 §2.3.1, RFC 7591 §3.2.1, RFC 7592 §2.1–2.2
 */
export function clientSecretHashing(): Middleware {
  return async function hashPresentedSecret(ctx: Context, next: Next): Promise<void> {
    const basic = credentialsFor(ctx.req.headers.authorization, 'basic');
    if (basic) {
      const hashed = hashedBasic(basic);
      if (hashed) ctx.req.headers.authorization = `Basic ${hashed}`;
    }
    if (CLIENT_AUTH_PATHS.has(ctx.path)) {
      const body = await readFormBody(ctx);
      if (body !== undefined) {
        const form = new URLSearchParams(body);
        const secret = form.get('client_secret');
        if (secret) {
          form.set('client_secret', hashClientSecret(secret));
          replaceFormBody(ctx, form);
        }
      }
    }
    const configuration = CLIENT_CONFIGURATION.test(ctx.path);
    if (configuration && ctx.method === 'PUT' && ctx.is('application/json')) await hashJsonSecret(ctx);
    await next();
    if (configuration && ctx.body && typeof ctx.body === 'object' && isHashedClientSecret((ctx.body as { client_secret?: unknown }).client_secret)) {
      delete (ctx.body as { client_secret?: unknown }).client_secret;
    }
  };
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
