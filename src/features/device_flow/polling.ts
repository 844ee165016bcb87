import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import type { Store } from '../../storage/adapter.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Per device code: the interval it must respect and when it last polled. Model `DevicePoll`. */
interface PollState {
  clientId: string;
  interval: number;
  /** Epoch ms when the device code expires; the record goes with it. */
  expiresAt: number;
  lastPoll?: number;
  [key: string]: unknown;
}

const MODEL = 'DevicePoll';
// Device codes are bearer secrets; the poll record is keyed by their hash, not the code itself.
const keyOf = (deviceCode: string) => createHash('sha256').update(deviceCode).digest('base64url');

export interface DevicePollingOptions {
  store: Store;
  /** Seconds announced as `interval` for a new device code. */
  interval: number;
  /** Device code lifetime in seconds; poll records live as long. */
  deviceCodeTtl: number;
  /** Path of the device authorization endpoint (oidc-provider's `/device/auth`). */
  path?: string;
}

/**
 * Adds `interval` to the device authorization response and starts the code's poll record.
 * oidc-provider sends neither; RFC 8628 §3.2 clients fall back to 5 s without it.
 * @see RFC 8628 §3.2
 */
export function announceInterval(options: DevicePollingOptions) {
  const path = options.path ?? '/device/auth';
  return async function interval(ctx: Context, next: Next): Promise<void> {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== path || ctx.status !== 200) return;
    const body = ctx.body as { device_code?: unknown; interval?: number } | undefined;
    if (!body || typeof body.device_code !== 'string') return;
    const clientId = (ctx as unknown as { oidc?: { client?: { clientId: string } } }).oidc?.client?.clientId ?? '';
    const state: PollState = { clientId, interval: options.interval, expiresAt: Date.now() + options.deviceCodeTtl * 1000 };
    await options.store.upsert(MODEL, keyOf(body.device_code), state, options.deviceCodeTtl);
    body.interval = options.interval;
  };
}

/**
 * Wraps oidc-provider's device_code grant: a client polling its own code sooner than the code's
 * interval gets `slow_down` and the interval grows by 5 s; polls at the new pace get the normal
 * answers (authorization_pending, access_denied, expired_token, tokens). Someone else's code is
 * passed straight on, so it gets invalid_grant without touching the owner's pace.
 * @see RFC 8628 §3.5
 */
export function enforcePollingInterval(provider: Provider, options: DevicePollingOptions): void {
  const handlers = instance(provider)?.grantTypeHandlers;
  const original = handlers?.get(DEVICE_CODE_GRANT);
  if (!handlers || !original) throw new Error('oidc-provider device_code grant handler not found (deviceFlow disabled?)');
  handlers.set(DEVICE_CODE_GRANT, async (ctx) => {
    const deviceCode = ctx.oidc.params?.device_code;
    if (typeof deviceCode === 'string' && deviceCode.length <= 512) {
      const key = keyOf(deviceCode);
      const state = (await options.store.find(MODEL, key)) as PollState | undefined;
      if (state && state.clientId === ctx.oidc.client?.clientId) {
        const now = Date.now();
        const tooSoon = state.lastPoll !== undefined && now - state.lastPoll < state.interval * 1000;
        const next: PollState = { ...state, lastPoll: now, interval: tooSoon ? state.interval + 5 : state.interval };
        const remaining = Math.max(1, Math.ceil((state.expiresAt - now) / 1000));
        await options.store.upsert(MODEL, key, next, remaining);
        if (tooSoon) throw new errors.SlowDown(`polling faster than every ${state.interval} s; poll every ${next.interval} s`);
      }
    }
    await original(ctx);
  });
}
