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
  /** The rest of the request, inside its context; its one line once it is answered. */
  async function logged(ctx: Context, next: Next, context: RequestContext, started: bigint): Promise<void> {
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const status = ctx.status;
      const [audit, ...more] = context.audit!;
      // Events recorded after this line (work the request left running) get lines of their own.
      delete context.audit;
      logger[status >= 500 ? 'warn' : 'info'](
        { ...audit, req: { method: ctx.method, path: ctx.path, ip: context.ip, listener: ctx.state.listener }, res: { status }, ms: Math.round(ms * 10) / 10 },
        'request',
      );
      for (const line of more) logger.info(line, `audit ${String(line.event)}`);
    }
  }
  return function requestLog(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.req.headers['x-request-id'];
    const reqId = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.res.setHeader('X-Request-Id', reqId);
    ctx.state.reqId = reqId;
    const context: RequestContext = { reqId, ip: ctx.ip, audit: [] };
    // run() passes the arguments on: no closure per request, one async frame.
    return requestContext.run(context, logged, ctx, next, context, process.hrtime.bigint());
  };
}
