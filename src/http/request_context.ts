import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import { requestContext, type Logger, type RequestContext } from '../shared/logger.ts';

const INCOMING_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Gives every request an id (a sane incoming `X-Request-Id` is kept, anything else replaced),
 * runs the rest of the request inside it so every log line carries it, and logs one line when the
 * response is done, carrying the request's audit event when it has one (a second audit event of
 * the same request gets a line of its own). Only the path is logged: query strings carry codes
 * and states.
 */
export function requestLogging(logger: Logger) {
  return async function requestLog(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.get('x-request-id');
    const reqId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', reqId);
    ctx.state.reqId = reqId;
    const started = process.hrtime.bigint();
    const context: RequestContext = { reqId, ip: ctx.ip, audit: [] };
    await requestContext.run(context, async () => {
      try {
        await next();
      } finally {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const status = ctx.status;
        const [audit, ...more] = context.audit!;
        // Events recorded after this line (work the request left running) get lines of their own.
        delete context.audit;
        logger[status >= 500 ? 'warn' : 'info'](
          { ...audit, req: { method: ctx.method, path: ctx.path, ip: ctx.ip, listener: ctx.state.listener }, res: { status }, ms: Math.round(ms * 10) / 10 },
          'request',
        );
        for (const line of more) logger.info(line, `audit ${String(line.event)}`);
      }
    });
  };
}
