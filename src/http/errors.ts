import type { Context, Next } from 'koa';
import { GatehouseError, StoreUnavailableError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { renderPage } from '../shared/views.ts';
import { BODY_LIMIT, isJsonWrite, readBodyText } from './form_body.ts';

/**
 * Paths people reach in a browser (sign-in, consent, TOTP, the upstream IdP's return): an error
 * there is the error page unless the client asks for JSON (curl accepts anything, so it gets the page).
 */
function isPage(path: string): boolean {
  return path.startsWith('/interaction/') || path.startsWith('/upstream/');
}

function wantsHtml(ctx: Context): boolean {
  return isPage(ctx.path) ? ctx.accepts('html', 'json') === 'html' : ctx.accepts('json', 'html') === 'html';
}

async function respond(ctx: Context, status: number, error: string, description: string): Promise<void> {
  if (wantsHtml(ctx)) {
    await renderPage(ctx, 'error', { title: 'Something went wrong', error, description }, status);
  } else {
    ctx.status = status;
    ctx.body = { error, error_description: description };
  }
}

/**
 * The OAuth `error` for one of our own refusals (RFC 6749 §5.2, RFC 7591 §3.2.2): `invalid_request`
 * for a malformed or oversized request, `not_found` for what does not exist. Gatehouse's stable
 * code (`ERR_BODY_TOO_LARGE`…) stays in `GatehouseError.code` for the code that throws it.
 */
function oauthError(status: number): string {
  return status === 404 ? 'not_found' : 'invalid_request';
}

/** What the error boundary needs besides the logger. */
export interface ErrorBoundaryOptions {
  /**
   * Canonical paths of the endpoints that take POST only (and CORS preflights, which oidc-provider
   * answers for all but registration): another method there is 405 with `Allow`, not 404.
   */
  postOnly?: readonly string[];
  /** Of those, the ones oidc-provider answers OPTIONS on (CORS, listed in `Allow`). */
  preflighted?: readonly string[];
}

/**
 * The outermost guard for routes that are not oidc-provider's (which handles its own): a thrown
 * error becomes an OAuth-style JSON body or the error page, never a stack trace. Unknown paths get
 * a JSON 404, and another method on a `postOnly` endpoint (canonical paths: route_paths.ts folded
 * every spelling) a 405 with `Allow`; bodies over BODY_LIMIT a 413 (announced by Content-Length:
 * before anything reads them; chunked: as the form or JSON reader reaches the limit).
 * @see RFC 9110 §15.5.6 (405 and Allow), §15.5.14 (413)
 */
export function errorBoundary(logger: Logger, options: ErrorBoundaryOptions = {}) {
  const postOnly = new Set(options.postOnly);
  const preflighted = new Set(options.preflighted);
  return async function boundary(ctx: Context, next: Next): Promise<void> {
    const length = Number(ctx.get('content-length') || 0);
    if (length > BODY_LIMIT) {
      ctx.set('Connection', 'close');
      await respond(ctx, 413, 'invalid_request', `request body larger than ${BODY_LIMIT} bytes`);
      return;
    }
    try {
      if (isJsonWrite(ctx)) await readBodyText(ctx);
      await next();
      if (ctx.status === 404 && ctx.body === undefined && postOnly.has(ctx.path)) {
        ctx.set('Allow', preflighted.has(ctx.path) ? 'POST, OPTIONS' : 'POST');
        await respond(ctx, 405, 'invalid_request', `method ${ctx.method} not allowed here; use POST`);
      } else if (ctx.status === 404 && ctx.body === undefined) {
        await respond(ctx, 404, 'not_found', 'no such endpoint');
      } else if (ctx.status === 405 && !ctx.body) {
        await respond(ctx, 405, 'invalid_request', `method ${ctx.method} not allowed here`);
      }
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        logger.warn({ err: { message: err.message } }, 'store unavailable');
        ctx.set('Retry-After', '5');
        await respond(ctx, 503, 'temporarily_unavailable', 'the service is temporarily unavailable, try again shortly');
      } else if (err instanceof GatehouseError && err.expose) {
        await respond(ctx, err.status, oauthError(err.status), err.message);
      } else if (typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status < 500 && (err as { expose?: boolean }).expose) {
        const e = err as { status: number; message: string };
        await respond(ctx, e.status, 'invalid_request', e.message);
      } else if ((err as { code?: unknown }).code === 'ECONNRESET' && ctx.req.destroyed) {
        // The client went away mid-request (form_body.ts): nobody to answer, nothing went wrong here.
        logger.debug({ err: { message: (err as Error).message } }, 'client closed the connection before the request was read');
      } else {
        const e = err as Error;
        logger.error({ err: { type: e?.name, message: e?.message, stack: e?.stack } }, 'unhandled error');
        await respond(ctx, 500, 'server_error', `internal error; quote request id ${ctx.state.reqId}`);
      }
    }
  };
}
