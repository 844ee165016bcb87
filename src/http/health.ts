import type { Context, Next } from 'koa';
import type { Store } from '../storage/adapter.ts';

export interface Readiness {
  /** Set false on SIGTERM so load balancers stop sending traffic before the listeners close. */
  accepting: boolean;
}

const PING_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * `/healthz/live`: the process runs. `/healthz/ready`: the store takes a write and we are not
 * shutting down. Both bypass everything else (no session, no provider).
 */
export function healthRoutes(store: Store, readiness: Readiness) {
  return function health(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== '/healthz/live' && ctx.path !== '/healthz/ready') return next();
    return answer(ctx);
  };
  async function answer(ctx: Context): Promise<void> {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.body = { error: 'invalid_request', error_description: 'use GET' };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    if (ctx.path === '/healthz/live') {
      ctx.body = { status: 'ok' };
      return;
    }
    if (!readiness.accepting) {
      ctx.status = 503;
      ctx.body = { status: 'shutting_down' };
      return;
    }
    try {
      await withTimeout(store.ping(), PING_TIMEOUT_MS);
      ctx.body = { status: 'ok', store: store.kind };
    } catch (err) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: store.kind, reason: (err as Error).message };
    }
  }
}
