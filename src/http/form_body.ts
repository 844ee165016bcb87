import type { Context } from 'koa';
import { GatehouseError } from '../shared/errors.ts';

/** oidc-provider refuses larger bodies anyway. */
const BODY_LIMIT = 56 * 1024;

/**
 * A body over the limit is refused here, never left half-read: oidc-provider would go on to
 * parse the unread rest of the stream as the whole body, which a chunked request (no
 * Content-Length) can fill with parameters our middleware never saw — such as a
 * `client_secret` that was not hashed.
 */
function tooLarge(ctx: Context): GatehouseError {
  ctx.set('Connection', 'close');
  return new GatehouseError('ERR_BODY_TOO_LARGE', `request body larger than ${BODY_LIMIT} bytes`, { status: 413 });
}

/**
 * Reads an `application/x-www-form-urlencoded` POST body once and hands it to oidc-provider as an
 * already-read body (its parser takes `ctx.request.body` when the stream has been consumed), so
 * the request is parsed by oidc-provider exactly as before. Every middleware of ours that looks
 * at the form goes through here, so the second one gets the same text. Undefined when the
 * request has no form body; throws a 413 GatehouseError (`ERR_BODY_TOO_LARGE`) when it is larger
 * than oidc-provider accepts.
 */
export async function readFormBody(ctx: Context): Promise<string | undefined> {
  if (ctx.method !== 'POST' || !ctx.is('application/x-www-form-urlencoded')) return undefined;
  return readBodyText(ctx);
}

/** Like `readFormBody`, for a body of any type (oidc-provider also takes JSON this way). */
export async function readBodyText(ctx: Context): Promise<string | undefined> {
  const already = (ctx.request as { body?: unknown }).body;
  if (typeof already === 'string') return already;
  if (!ctx.req.readable) return undefined;
  if (ctx.request.length !== undefined && ctx.request.length > BODY_LIMIT) throw tooLarge(ctx);
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > BODY_LIMIT) throw tooLarge(ctx);
    chunks.push(chunk);
  }
  const buffer = Buffer.concat(chunks, received);
  let text: string;
  try {
    text = new TextDecoder(ctx.request.charset || 'utf-8').decode(buffer);
  } catch {
    text = buffer.toString('utf8');
  }
  (ctx.request as { body?: unknown }).body = text;
  return text;
}

/** Replaces the form body oidc-provider will parse (after `readFormBody`). */
export function replaceFormBody(ctx: Context, params: URLSearchParams): void {
  (ctx.request as { body?: unknown }).body = params.toString();
}

/** Replaces the body text oidc-provider will parse (after `readBodyText`). */
export function replaceBodyText(ctx: Context, text: string): void {
  (ctx.request as { body?: unknown }).body = text;
}
