import type { Context } from 'koa';
import { GatehouseError } from '../shared/errors.ts';

/** Largest request body any endpoint accepts (bytes): oidc-provider's own parser stops at 56 KiB. */
export const BODY_LIMIT = 56 * 1024;

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
 * than oidc-provider accepts, a 400 (`ERR_TOO_MANY_PARAMETERS`) when it holds more than
 * MAX_FORM_PARAMETERS parameters.
 */
export async function readFormBody(ctx: Context): Promise<string | undefined> {
  if (ctx.method !== 'POST' || !ctx.is('application/x-www-form-urlencoded')) return undefined;
  const body = await readBodyText(ctx);
  if (body !== undefined && tooManyParameters(body)) {
    throw new GatehouseError('ERR_TOO_MANY_PARAMETERS', `more than ${MAX_FORM_PARAMETERS} form parameters`, { status: 400 });
  }
  return body;
}

/**
 * Form parameters a body may hold (`&`-separated pieces, empty ones included): oidc-provider parses
 * forms with `querystring.parse`, which stops there and ignores the rest, while URLSearchParams
 * (ours) reads them all — a client_id hidden past it would be counted by our rate limits and
 * never seen by oidc-provider. No OAuth request comes near it: such a body is refused.
 */
export const MAX_FORM_PARAMETERS = 1000;

function tooManyParameters(body: string): boolean {
  if (body.length < MAX_FORM_PARAMETERS) return false;
  let pieces = 1;
  for (let at = body.indexOf('&'); at !== -1; at = body.indexOf('&', at + 1)) {
    if (++pieces > MAX_FORM_PARAMETERS) return true;
  }
  return false;
}

const PARSED = Symbol('parsed form body');
type ParsedState = { [PARSED]?: { text: string; params: URLSearchParams } };

/**
 * The parameters of the form body (`readFormBody`), parsed once per body text and shared by every
 * middleware that reads the form (the secret hashing, then the endpoint limits). Read-only: a
 * middleware that changes the form copies it (`new URLSearchParams(params)`) and hands the copy to
 * `replaceFormBody`, which makes it the parse of the new text (so a hashed secret's form is not
 * parsed again). Undefined when the request has no form body; throws like `readFormBody`.
 */
export async function readFormParams(ctx: Context): Promise<URLSearchParams | undefined> {
  const body = await readFormBody(ctx);
  if (body === undefined) return undefined;
  const cached = (ctx.state as ParsedState)[PARSED];
  if (cached?.text === body) return cached.params;
  const params = new URLSearchParams(body);
  (ctx.state as ParsedState)[PARSED] = { text: body, params };
  return params;
}

/**
 * Whether the request is a JSON POST or PUT (RFC 7591/7592 registration), whose body the error
 * boundary reads through `readBodyText` so one over BODY_LIMIT gets our 413 (oidc-provider would
 * answer a chunked one 400 "failed to parse"). Synchronous: every request asks, and a form POST
 * (the token endpoint) stops at the substring test.
 */
export function isJsonWrite(ctx: Context): boolean {
  const type = ctx.req.headers['content-type'];
  return type !== undefined && type.toLowerCase().includes('json') && (ctx.method === 'POST' || ctx.method === 'PUT') && typeof ctx.is('application/json') === 'string';
}

/** Like `readFormBody`, for a body of any type (oidc-provider also takes JSON this way). */
export async function readBodyText(ctx: Context): Promise<string | undefined> {
  const already = (ctx.request as { body?: unknown }).body;
  if (typeof already === 'string') return already;
  if (!ctx.req.readable) return undefined;
  if (ctx.request.length !== undefined && ctx.request.length > BODY_LIMIT) throw tooLarge(ctx);
  const buffer = await readStream(ctx.req, () => tooLarge(ctx));
  const charset = ctx.request.charset;
  let text: string;
  try {
    text = (!charset || charset === 'utf-8' ? UTF8 : new TextDecoder(charset)).decode(buffer);
  } catch {
    text = buffer.toString('utf8');
  }
  (ctx.request as { body?: unknown }).body = text;
  return text;
}

/** Decodes like `new TextDecoder('utf-8')` (a decode call keeps no state between calls). */
const UTF8 = new TextDecoder('utf-8');

/**
 * The whole request body, read with stream events (an async iterator costs several promises per
 * chunk). Rejects with `tooBig()` as soon as more than BODY_LIMIT bytes arrived; the stream is
 * then left paused, never half-parsed (the error answer closes the connection).
 */
function readStream(req: Context['req'], tooBig: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > BODY_LIMIT) {
        cleanup();
        req.pause();
        reject(tooBig());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // The client went away before the end: nothing will come (the answer has nobody to go to).
    const onClose = () => {
      if (req.readableEnded) return;
      cleanup();
      reject(Object.assign(new Error('request body aborted'), { code: 'ECONNRESET', expose: false }));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
    req.resume(); // flowing even if something paused it before
  });
}

/**
 * Replaces the form body oidc-provider will parse (after `readFormBody`). `params` becomes the
 * parse `readFormParams` hands out for the new text: the caller must not change it afterwards.
 */
export function replaceFormBody(ctx: Context, params: URLSearchParams): void {
  const text = params.toString();
  (ctx.request as { body?: unknown }).body = text;
  (ctx.state as ParsedState)[PARSED] = { text, params };
}

/** Replaces the body text oidc-provider will parse (after `readBodyText`). */
export function replaceBodyText(ctx: Context, text: string): void {
  (ctx.request as { body?: unknown }).body = text;
}
