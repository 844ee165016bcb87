import type { Context, Middleware, Next } from 'koa';
import type { Config } from '../config/load.ts';
import type { Logger } from '../shared/logger.ts';
import type { Store } from '../storage/adapter.ts';
import { RateLimiter } from '../storage/rate_limiter.ts';
import { redeemRegistrationToken } from '../storage/registration_tokens.ts';
import type { Metrics } from './metrics.ts';
import { credentialsFor } from './authorization.ts';
import { tooManyRequests } from './too_many.ts';

/** GATEHOUSE_REGISTRATION (the policy), GATEHOUSE_REGISTRATION_RATE_LIMIT and _RATE_WINDOW (per IP). */
export type RegistrationGuardSettings = Pick<Config, 'registration' | 'registrationRateLimit' | 'registrationRateWindow'>;

export interface RegistrationGuardServices {
  store: Store;
  logger: Logger;
  /** Counts refusals in `gatehouse_rate_limited_total{limiter="registration:ip"}` when given. */
  metrics?: Metrics;
}

function invalidToken(ctx: Context, description: string): void {
  ctx.status = 401;
  ctx.set('WWW-Authenticate', `Bearer realm="registration", error="invalid_token", error_description="${description}"`);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'invalid_token', error_description: description };
}

/**
 * In front of oidc-provider's registration endpoint (POST /reg): the per-IP rate limit, then the
 * GATEHOUSE_REGISTRATION policy. `token` wants an initial access token created by
 * `gatehouse registration-token create` as a Bearer credential.
 * @see RFC 7591 §3 (initial access token), RFC 6750 §3 (invalid_token)
 */
export function registrationGuard(settings: RegistrationGuardSettings, options: RegistrationGuardServices): Middleware {
  const limiter = new RateLimiter(options.store, { name: 'registration:ip', limit: settings.registrationRateLimit, windowSeconds: settings.registrationRateWindow });
  // Only `POST /reg` (route_paths.ts folded every spelling to it) pays for an async frame.
  return function guard(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== '/reg') return next();
    return guardRegistration(ctx, next);
  };
  async function guardRegistration(ctx: Context, next: Next): Promise<void> {

    const limit = await limiter.hit(ctx.ip);
    if (!limit.allowed) {
      options.metrics?.rateLimited.inc({ limiter: limiter.options.name });
      options.logger.warn({ event: 'registration.throttled', ip: ctx.ip }, 'client registration rate limit reached');
      await tooManyRequests(ctx, limit.retryAfter, 'too many client registrations from this address');
      return;
    }
    if (settings.registration === 'closed') {
      ctx.status = 403;
      ctx.body = { error: 'access_denied', error_description: 'dynamic client registration is closed on this server; an operator can add clients with `gatehouse clients add`' };
      return;
    }
    if (settings.registration === 'token') {
      const token = credentialsFor(ctx.get('authorization'), 'bearer');
      if (!token || !/^[\x21-\x7e]+$/.test(token)) {
        invalidToken(ctx, 'an initial access token is required (Authorization: Bearer <token>)');
        return;
      }
      const result = await redeemRegistrationToken(options.store, token);
      if (result !== 'ok') {
        options.logger.info({ event: 'registration.refused', reason: result }, 'registration refused: initial access token not accepted');
        invalidToken(ctx, result === 'exhausted' ? 'the initial access token has no registrations left' : 'the initial access token is invalid or expired');
        return;
      }
    }
    await next();
  }
}
