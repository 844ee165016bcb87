import type { Context, Next } from 'koa';
import { GatehouseError, StoreUnavailableError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { renderPage } from '../shared/views.ts';

/** Largest request body any endpoint accepts; oidc-provider's own parser stops at 56 KiB. */
export const MAX_BODY_BYTES = 64 * 1024;

function wantsHtml(ctx: Context): boolean {
  return ctx.accepts('json', 'html') === 'html';
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
 * The outermost guard for routes that are not oidc-provider's (which handles its own): a thrown
 * error becomes an OAuth-style JSON body or the error page, never a stack trace. Unknown paths get
 * a JSON 404; oversized bodies a 413 before anything reads them.
 */
export function errorBoundary(logger: Logger) {
  return async function boundary(ctx: Context, next: Next): Promise<void> {
    const length = Number(ctx.get('content-length') || 0);
    if (length > MAX_BODY_BYTES) {
      ctx.set('Connection', 'close');
      await respond(ctx, 413, 'invalid_request', `request body larger than ${MAX_BODY_BYTES} bytes`);
      return;
    }
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
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
        await respond(ctx, err.status, err.code, err.message);
      } else if (typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status < 500 && (err as { expose?: boolean }).expose) {
        const e = err as { status: number; message: string };
        await respond(ctx, e.status, 'invalid_request', e.message);
      } else {
        const e = err as Error;
        logger.error({ err: { type: e?.name, message: e?.message, stack: e?.stack } }, 'unhandled error');
        await respond(ctx, 500, 'server_error', `internal error; quote request id ${ctx.state.reqId}`);
      }
    }
  };
}
