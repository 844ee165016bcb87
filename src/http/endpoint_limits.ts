import { createHash } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import type { Config } from '../config/load.ts';
import type { Logger } from '../shared/logger.ts';
import type { Store } from '../storage/adapter.ts';
import { ReplicaRateLimiter } from '../storage/replica_rate_limiter.ts';
import { credentialsFor } from './authorization.ts';
import { readFormParams } from './form_body.ts';
import type { Metrics } from './metrics.ts';
import { tooManyRequests } from './too_many.ts';

/** Requests per window for each limiter; 0 turns that limiter off. */
export interface EndpointLimits {
  tokenPerIp: number;
  tokenPerClient: number;
  devicePerIp: number;
  devicePerClient: number;
  windowSeconds: number;
}

/** GATEHOUSE_TOKEN_RATE_LIMIT_*, GATEHOUSE_DEVICE_RATE_LIMIT_*, GATEHOUSE_RATE_LIMIT_WINDOW. */
export type EndpointLimitSettings = Pick<Config, 'tokenRateLimitIp' | 'tokenRateLimitClient' | 'deviceRateLimitIp' | 'deviceRateLimitClient' | 'rateLimitWindow'>;

/** The limits the settings ask for. */
export function endpointLimits(settings: EndpointLimitSettings): EndpointLimits {
  return {
    tokenPerIp: settings.tokenRateLimitIp,
    tokenPerClient: settings.tokenRateLimitClient,
    devicePerIp: settings.deviceRateLimitIp,
    devicePerClient: settings.deviceRateLimitClient,
    windowSeconds: settings.rateLimitWindow,
  };
}

export interface EndpointLimitServices {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  /** Milliseconds between flushes of this replica's counts to the store (default 1000). */
  flushIntervalMs?: number;
}

/** The limiting middleware, and `close` to flush the counts and stop the flush timer on shutdown. */
export interface EndpointRateLimits {
  middleware: Middleware;
  close(): Promise<void>;
}

/** oidc-provider's default paths for the two endpoints (the same on the public and mTLS listeners). */
const ENDPOINTS = { '/token': 'token', '/device/auth': 'device_authorization' } as const;
type Endpoint = (typeof ENDPOINTS)[keyof typeof ENDPOINTS];

const MAX_KEY_LENGTH = 128;

/**
 * The client_id the request claims, from HTTP Basic credentials or else the form body (client_id,
 * or the subject of a client assertion). It is not
 * authenticated yet (oidc-provider does that later) and serves only as the counter key: nothing
 * else is decided on it.
 * @see RFC 6749 §2.3.1 (Basic credentials are form-urlencoded before base64), RFC 7523 §3 (sub)
 */
async function claimedClientId(ctx: Context): Promise<string | undefined> {
  const basic = credentialsFor(ctx.get('authorization'), 'basic');
  if (basic && /^[A-Za-z0-9+/=]+$/.test(basic)) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Malformed credentials (no colon) may be a bare secret: never use them as a key or log them.
    if (colon === -1) return undefined;
    const raw = decoded.slice(0, colon);
    try {
      return decodeURIComponent(raw.replace(/\+/g, ' ')) || undefined;
    } catch {
      return raw || undefined;
    }
  }
  const params = await readFormParams(ctx);
  if (params === undefined) return undefined;
  return params.get('client_id') || assertionSubject(params.get('client_assertion')) || undefined;
}

/** private_key_jwt / client_secret_jwt may omit client_id: the assertion's `sub` names the client. */
function assertionSubject(assertion: string | null): string | undefined {
  const payload = assertion?.split('.')[1];
  if (!payload) return undefined;
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** Long claimed ids are hashed so an attacker cannot make the store keep huge keys. */
function counterKey(clientId: string): string {
  return clientId.length <= MAX_KEY_LENGTH ? clientId : `sha256:${createHash('sha256').update(clientId).digest('base64url')}`;
}

/**
 * Per-IP and per-client limits on the token endpoint (the hot path) and the device authorization
 * endpoint, counted in this process with no store round trip on the request path and shared with
 * the other replicas through the store every flush interval (`ReplicaRateLimiter`: README "Rate
 * limits" says what a limit means with N replicas). The IP counter is hit first, and the client
 * counter only for requests the IP limit let through, so a flood from a refused address cannot
 * also use up a client's allowance. Beyond a limit: 429, Retry-After and an OAuth-style error
 * body, counted in `gatehouse_rate_limited_total{limiter}`.
 */
export function endpointRateLimits(settings: EndpointLimitSettings, options: EndpointLimitServices): EndpointRateLimits {
  const { store, logger, metrics } = options;
  const limits = endpointLimits(settings);
  let flushFailing = false;
  const onFlushResult = (err: unknown) => {
    // One line per outage, not one per flush.
    if (err === undefined || flushFailing) {
      flushFailing = err !== undefined;
      return;
    }
    flushFailing = true;
    logger.warn({ event: 'rate_limit_flush_failed', reason: (err as Error).message }, 'rate-limit counts cannot reach the store; each replica enforces the limits on its own counts until it can');
  };
  const all: ReplicaRateLimiter[] = [];
  const make = (name: string, limit: number) => {
    if (limit <= 0) return undefined;
    const limiter = new ReplicaRateLimiter(store, { name, limit, windowSeconds: limits.windowSeconds, flushIntervalMs: options.flushIntervalMs, onFlushResult });
    all.push(limiter);
    return limiter;
  };
  const limiters: Record<Endpoint, { ip?: ReplicaRateLimiter; client?: ReplicaRateLimiter }> = {
    token: { ip: make('token:ip', limits.tokenPerIp), client: make('token:client', limits.tokenPerClient) },
    device_authorization: { ip: make('device_authorization:ip', limits.devicePerIp), client: make('device_authorization:client', limits.devicePerClient) },
  };
  const bound = new Map(all.map((l) => [l, metrics.rateLimited.labels({ limiter: l.options.name })]));

  const refuse = async (ctx: Context, limiter: ReplicaRateLimiter, result: { count: number; retryAfter: number }, fields: Record<string, string>, description: string) => {
    bound.get(limiter)!.inc();
    // One log line per key and window, not one per refused request of a flood.
    if (result.count === limiter.options.limit + 1) {
      logger.warn({ event: 'rate_limited', limiter: limiter.options.name, limit: limiter.options.limit, window: limits.windowSeconds, ...fields }, `rate limit ${limiter.options.name} reached`);
    }
    ctx.set('Cache-Control', 'no-store');
    await tooManyRequests(ctx, result.retryAfter, description);
  };

  const middleware = function endpointLimits(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST') return next();
    const endpoint = ENDPOINTS[ctx.path as keyof typeof ENDPOINTS];
    if (!endpoint) return next();
    return limit(ctx, next, endpoint);
  };
  const limit = async (ctx: Context, next: Next, endpoint: (typeof ENDPOINTS)[keyof typeof ENDPOINTS]): Promise<void> => {
    const { ip, client } = limiters[endpoint];

    if (ip) {
      const result = ip.hit(ctx.ip);
      if (!result.allowed) return refuse(ctx, ip, result, { ip: ctx.ip }, 'too many requests from this address');
    }
    if (client) {
      const clientId = await claimedClientId(ctx);
      if (clientId !== undefined) {
        const result = client.hit(counterKey(clientId));
        if (!result.allowed) return refuse(ctx, client, result, { client_id: counterKey(clientId) }, 'too many requests for this client');
      }
    }
    await next();
  };
  return { middleware, close: async () => void (await Promise.all(all.map((l) => l.close()))) };
}
