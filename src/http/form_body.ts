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
  const buffer = (await bufferedBody(ctx)) ?? (await streamedBody(ctx));
  let text: string;
  try {
    text = new TextDecoder(ctx.request.charset || 'utf-8').decode(buffer);
  } catch {
    text = buffer.toString('utf8');
  }
  (ctx.request as { body?: unknown }).body = text;
  return text;
}

/**
 * The body when node already holds all of it (every byte of its Content-Length buffered, or the
 * whole message parsed: the usual case for a small form that came with its headers), taken from
 * the stream's buffer at once; then the stream is let run to its `end`, so it is no longer
 * readable (oidc-provider reads a readable request's stream itself). Undefined when the body is
 * still arriving, or something else already reads the stream.
 */
async function bufferedBody(ctx: Context): Promise<Buffer | undefined> {
  const req = ctx.req;
  if (req.readableFlowing !== null || req.readableObjectMode || req.readableEncoding) return undefined;
  const length = ctx.request.length;
  if (!req.complete && (length === undefined || req.readableLength < length)) return undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  let onEnd!: () => void;
  let onError!: (err: Error) => void;
  const ended = new Promise<void>((resolve, reject) => {
    onEnd = resolve;
    onError = reject;
  });
  req.once('end', onEnd);
  req.once('error', onError);
  try {
    for (let chunk: Buffer | null; (chunk = req.read() as Buffer | null) !== null; ) {
      received += chunk.length;
      if (received > BODY_LIMIT) throw tooLarge(ctx);
      chunks.push(chunk);
    }
    // Only the end of the stream is left (the parser never passes more than Content-Length):
    // flowing mode takes the stream to `end` without anyone calling read() again.
    req.resume();
    await ended;
  } finally {
    req.off('end', onEnd);
    req.off('error', onError);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
}

/** The body read from the stream as it arrives, refused once it passes the limit. */
async function streamedBody(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > BODY_LIMIT) throw tooLarge(ctx);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received);
}

/** Replaces the form body oidc-provider will parse (after `readFormBody`). */
export function replaceFormBody(ctx: Context, params: URLSearchParams): void {
  (ctx.request as { body?: unknown }).body = params.toString();
}

/** Replaces the body text oidc-provider will parse (after `readBodyText`). */
export function replaceBodyText(ctx: Context, text: string): void {
  (ctx.request as { body?: unknown }).body = text;
}
