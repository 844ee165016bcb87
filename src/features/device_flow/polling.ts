import type { Context, Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { DEVICE_CODE_GRANT } from '../../shared/grant_types.ts';
import type { PollPaces } from './poll_paces.ts';

/** Longer device codes are not ours; oidc-provider answers them with invalid_grant. */
const MAX_DEVICE_CODE = 512;

export interface DevicePollingOptions {
  /** Every code's pace, in this replica's memory and shared through the store. */
  paces: PollPaces;
  /** Seconds announced as `interval` for a new device code. */
  interval: number;
  /** Device code lifetime in seconds; pace records live as long. */
  deviceCodeTtl: number;
  /** Current time in epoch milliseconds; tests inject a clock. Default `Date.now`. */
  now?: () => number;
}

type OidcContext = Context & { oidc?: KoaContextWithOIDC['oidc'] };

/**
 * Adds `interval` to the device authorization response and starts the code's poll record.
 * oidc-provider sends neither; RFC 8628 §3.2 clients fall back to 5 s without it. Runs after
 * oidc-provider answered (a koa middleware before its router), so it sees the authenticated client.
 * @see RFC 8628 §3.2
 */
export function announceInterval(options: DevicePollingOptions, path = '/device/auth') {
  const now = options.now ?? Date.now;
  // Any other request goes straight on (route_paths.ts folded every spelling of the endpoint to `path`).
  return function interval(ctx: OidcContext, next: Next): Promise<void> {
    return ctx.method === 'POST' && ctx.path === path ? announce(ctx, next) : next();
  };
  async function announce(ctx: OidcContext, next: Next): Promise<void> {
    await next();
    if (ctx.oidc?.route !== 'device_authorization' || ctx.status !== 200) return;
    const body = ctx.body as { device_code?: unknown; interval?: number } | undefined;
    if (!body || typeof body.device_code !== 'string') return;
    const pace = { clientId: ctx.oidc.client?.clientId ?? '', interval: options.interval, expiresAt: now() + options.deviceCodeTtl * 1000 };
    await options.paces.start(body.device_code, pace, options.deviceCodeTtl);
    body.interval = options.interval;
  }
}

/**
 * Paces device-code polls: a poll of a still-pending code that arrives sooner than the code's
 * interval after the previous one (less `pollTolerance`) gets `slow_down` instead of
 * `authorization_pending`, and the interval grows by 5 s. Every other
 * answer passes unchanged, so a client that ignores `slow_down` (a PAM module polling at a fixed
 * pace) still gets its tokens on its first poll after approval, and access_denied or
 * expired_token after a denial or expiry. Someone else's code gets oidc-provider's invalid_grant
 * without touching the owner's pace.
 *
 * Only oidc-provider's public surface is used: this koa middleware runs around the token
 * endpoint and reads the answer oidc-provider gave the authenticated client (`ctx.oidc`).
 * A rewritten answer is reported as a `grant.error` event with oidc-provider's `SlowDown`, as
 * oidc-provider reports its own grant errors, so logs and metrics see it.
 * @see RFC 8628 §3.5
 */
export function pacePolls(options: DevicePollingOptions, path = '/token') {
  const now = options.now ?? Date.now;
  // Only the token endpoint is paced (route_paths.ts folded every spelling of it to `path`).
  return function pace(ctx: OidcContext, next: Next): Promise<void> {
    return ctx.method === 'POST' && ctx.path === path ? pacePoll(ctx, next) : next();
  };
  async function pacePoll(ctx: OidcContext, next: Next): Promise<void> {
    // The poll's arrival, not the time oidc-provider finished: its queueing under load is not the
    // client's doing.
    const at = now();
    await next();
    const oidc = ctx.oidc;
    if (oidc?.route !== 'token' || oidc.params?.grant_type !== DEVICE_CODE_GRANT) return;
    if (ctx.status !== 400 || (ctx.body as { error?: unknown } | undefined)?.error !== 'authorization_pending') return;
    const deviceCode = oidc.params.device_code;
    if (typeof deviceCode !== 'string' || deviceCode.length > MAX_DEVICE_CODE) return;
    // No store round trip for a code this replica knows (PollPaces: the pace is kept in memory and
    // shared with the other replicas through the store off the request path).
    const pace = await options.paces.poll(deviceCode, oidc.client?.clientId ?? '', at);
    if (!pace?.tooSoon) return;
    const err = new errors.SlowDown(`polling faster than every ${pace.interval} s; poll every ${pace.interval + 5} s`);
    ctx.status = err.statusCode;
    ctx.body = { error: err.error, error_description: err.error_description };
    oidc.provider.emit('grant.error', ctx, err);
  }
}
