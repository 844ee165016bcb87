import type { Context, Next } from 'koa';
import { tooManyRequests } from '../../http/too_many.ts';
import type { FailureThrottle } from '../../storage/failure_throttle.ts';
import { deviceFlowState } from './state.ts';

/** Longest user code we carry over from a link; a real one is 9 characters. */
const MAX_PREFILL = 32;

/**
 * In front of oidc-provider's verification endpoint (`/device`):
 * - a link with `?user_code=` (verification_uri_complete) only pre-fills the entry form, so the
 *   person still submits it and then sees the confirmation page (RFC 8628 §5.4, remote phishing);
 *   oidc-provider would otherwise auto-submit it with an inline script our CSP blocks;
 * - while the IP or everyone is locked out for wrong codes, every submission gets 429 before any
 *   lookup, so a lucky guess during a lockout reveals nothing;
 * - a submission without a live session is sent back to a fresh form instead of failing.
 */
export function userCodeGuard(userCodes: FailureThrottle, path = '/device') {
  return async function guard(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== path) return next();
    if (ctx.method === 'GET' && ctx.query.user_code !== undefined) {
      const code = ctx.query.user_code;
      if (typeof code === 'string' && code.length <= MAX_PREFILL) deviceFlowState(ctx).deviceFlowPrefill = code;
      ctx.querystring = '';
    } else if (ctx.method === 'POST') {
      const wait = await userCodes.lockedFor([ctx.ip, '*']);
      if (wait > 0) return tooManyRequests(ctx, wait, 'too many incorrect codes');
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
  };
}
