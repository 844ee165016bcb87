import type { Context, Middleware, Next } from 'koa';
import { listenerOf } from './listeners.ts';
import { isJson } from './content_type.ts';

/** One 200 answer as the whole pipeline produced it: headers and body text. */
interface CachedAnswer {
  headers: Array<[string, string | string[]]>;
  /**
   * The JSON text. A string, not bytes: node:http sends a string body with the head in one
   * write, a Buffer as a second buffer of a writev (~4 µs more per request, bench/README.md).
   */
  body: string;
  /** oidc-provider's route name, for the metrics label (`discovery`, `jwks`). */
  route?: string;
}

/** Headers that belong to one exchange, never to a replayed document. */
const PER_EXCHANGE = new Set(['x-request-id', 'date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'set-cookie']);

/**
 * Request headers an answer may depend on: a request carrying any of them goes through the
 * whole pipeline (CORS answers name the Origin; conditional requests may get 304).
 */
const VARYING = ['origin', 'if-none-match', 'if-modified-since'] as const;

/**
 * Replays the documents that are the same for every request — discovery and the JWKS — instead
 * of building them again for each: the first plain `GET` of such a path goes through the whole
 * pipeline (oidc-provider, security headers), and its 200 answer is kept (status, headers, body)
 * and sent for later plain `GET`s of that path on the same listener. Only requests without a
 * query string and without Origin or conditional headers are answered from it; the request
 * id, the log line and the metrics of every request are still produced by the middleware in
 * front of this one.
 *
 * The documents depend only on the issuer (discovery URLs are pinned to it, issuer_origin.ts)
 * and on the provider's keys and configuration; a new provider (key rotation) builds a new app,
 * and with it a new, empty cache. `paths` are canonical paths (route_paths.ts folds spellings).
 */
export function documentCache(paths: string[]): Middleware {
  const cacheable = new Set(paths);
  const answers = new Map<string, CachedAnswer>();
  const replayable = (ctx: Context): boolean => {
    if (ctx.method !== 'GET' || !cacheable.has(ctx.path) || ctx.querystring !== '') return false;
    const headers = ctx.req.headers;
    for (const name of VARYING) if (headers[name] !== undefined) return false;
    return true;
  };
  return function documents(ctx: Context, next: Next): Promise<void> {
    if (!replayable(ctx)) return next();
    const listener = listenerOf(ctx.req);
    const key = `${listener ?? 'public'} ${ctx.path}`;
    const cached = answers.get(key);
    if (cached) {
      // What the middleware it skips would have said about the request (the log line, metrics).
      ctx.state.listener = listener;
      replay(ctx, cached);
      return Promise.resolve();
    }
    return next().then(() => {
      const answer = capture(ctx);
      if (answer) answers.set(key, answer);
    });
  };
}

function replay(ctx: Context, answer: CachedAnswer): void {
  const res = ctx.res;
  for (const [name, value] of answer.headers) res.setHeader(name, value);
  if (answer.route) ctx.state.route = answer.route;
  ctx.status = 200;
  ctx.body = answer.body;
}

/** The answer as it will be sent, when it is a 200 JSON document with nothing per request in it. */
function capture(ctx: Context): CachedAnswer | undefined {
  if (ctx.status !== 200 || ctx.res.headersSent) return undefined;
  const res = ctx.res;
  if (res.getHeader('set-cookie') !== undefined) return undefined;
  if (!isJson(res.getHeader('content-type'))) return undefined;
  const body = ctx.body;
  let text: string;
  if (Buffer.isBuffer(body)) text = body.toString('utf8');
  else if (typeof body === 'string') text = body;
  else if (body && typeof body === 'object' && typeof (body as { pipe?: unknown }).pipe !== 'function') text = JSON.stringify(body);
  else return undefined;
  const headers: CachedAnswer['headers'] = [];
  for (const name of res.getHeaderNames()) {
    if (PER_EXCHANGE.has(name)) continue;
    const value = res.getHeader(name);
    if (value !== undefined) headers.push([name, typeof value === 'number' ? String(value) : value]);
  }
  const route = (ctx as Context & { oidc?: { route?: string } }).oidc?.route;
  return { headers, body: text, route };
}
