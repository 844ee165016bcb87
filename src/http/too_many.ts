import type { Context } from 'koa';
import { renderPage } from '../shared/views.ts';

/**
 * 429 with Retry-After: an OAuth error body for API clients, a readable page for browsers.
 */
export async function tooManyRequests(ctx: Context, retryAfter: number, description = 'too many requests, slow down'): Promise<void> {
  ctx.set('Retry-After', String(retryAfter));
  if (ctx.accepts('json', 'html') === 'html') {
    await renderPage(ctx, 'error', { title: 'Too many attempts', error: 'too_many_requests', description: `${description}. Try again in ${retryAfter} seconds.` }, 429);
  } else {
    ctx.status = 429;
    ctx.body = { error: 'too_many_requests', error_description: description };
  }
}
