import type { Context, Next } from 'koa';
import { readFormBody, replaceFormBody } from '../../http/form_body.ts';
import { tooManyRequests } from '../../http/too_many.ts';
import type { FailureThrottle } from '../../storage/failure_throttle.ts';
import { normalizeUserCode } from './pages.ts';
import { deviceFlowState } from './state.ts';

/** Longest user code we carry over from a link; a real one is 9 characters. */
const MAX_PREFILL = 32;

/**
 * In front of oidc-provider's verification endpoint (`/device`):
 * - a link with `?user_code=` (verification_uri_complete) is taken off the query and handed to the
 *   entry page, which shows the confirmation page for a live code (RFC 8628 §5.4, remote phishing:
 *   the person still confirms) or the pre-filled form otherwise; oidc-provider would auto-submit it
 *   with an inline script our CSP blocks;
 * - while the IP or everyone is locked out for wrong codes, every submission gets 429 before any
 *   lookup, so a lucky guess during a lockout reveals nothing;
 * - a submitted or linked code is reduced to the code alphabet (`normalizeUserCode`) before
 *   oidc-provider sees it, so `bcdf_ghjk` or full-width letters find the code (RFC 8628 §6.1);
 * - a submission without a live session is sent back to a fresh form instead of failing.
 */
export function userCodeGuard(userCodes: FailureThrottle, path = '/device') {
  return function guard(ctx: Context, next: Next): Promise<void> {
    return ctx.path === path ? guardPage(ctx, next) : next();
  };
  async function guardPage(ctx: Context, next: Next): Promise<void> {
    if (ctx.method === 'GET' && ctx.query.user_code !== undefined) {
      const code = ctx.query.user_code;
      if (typeof code === 'string' && code.length <= MAX_PREFILL) deviceFlowState(ctx).deviceFlowPrefill = normalizeUserCode(code).replace(/^(.{4})(.+)$/, '$1-$2');
      ctx.querystring = '';
    } else if (ctx.method === 'POST') {
      const wait = await userCodes.lockedFor([ctx.ip, '*']);
      if (wait > 0) return tooManyRequests(ctx, wait, 'too many incorrect codes');
      const body = await readFormBody(ctx);
      if (body !== undefined) {
        const form = new URLSearchParams(body);
        const typed = form.get('user_code');
        if (typed !== null) {
          form.set('user_code', normalizeUserCode(typed));
          replaceFormBody(ctx, form);
        }
      }
      try {
        await next();
      } catch (err) {
        // A form posted without a live session (cookie missing, expired or from another site):
        // oidc-provider fails while saving the session it never created. Start over with a fresh form.
        const session = (ctx as { oidc?: { session?: { exp?: unknown } } }).oidc?.session;
        if (!session || typeof session.exp === 'number') throw err;
        ctx.status = 303;
        ctx.redirect(path);
      }
      return;
    }
    return next();
  }
}
