import * as oidc from 'openid-client';
import { LoginError } from './errors.ts';

/** A poll that failed for a reason that may pass (the server restarting, overloaded, slow). */
export interface TransientFailure {
  /** What went wrong, for a person: "connection refused", "HTTP 503"… */
  reason: string;
  /** How long until the next attempt, in milliseconds. */
  retryInMs: number;
}

const NETWORK = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|EAI_AGAIN|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET|UND_ERR_HEADERS_TIMEOUT)$/;
const MAX_BACKOFF_MS = 30_000;

/** Why a poll failed, when it is worth trying again; undefined for a final answer. */
export function transientReason(err: unknown): string | undefined {
  const e = err as { name?: string; message?: string; code?: string; status?: number; cause?: { code?: string; status?: number; message?: string } };
  if (err instanceof oidc.ResponseBodyError) return err.status >= 500 ? `HTTP ${err.status} ${err.error}` : undefined;
  const net = e?.cause?.code ?? e?.code;
  if (net && NETWORK.test(net)) return net === 'ECONNREFUSED' ? 'connection refused' : net;
  if (e?.name === 'TypeError' && e.message === 'fetch failed') return e.cause?.message ?? 'network error';
  if (e?.name === 'TimeoutError') return 'no answer in time';
  // A proxy or a restarting server answering 5xx with a body that is not OAuth JSON.
  if ((e?.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || e?.code === 'OAUTH_RESPONSE_IS_NOT_JSON') && typeof e.cause?.status === 'number' && e.cause.status >= 500) return `HTTP ${e.cause.status}`;
  return undefined;
}

/**
 * Polls the token endpoint with the device code until the person approves or denies, the code
 * expires, or `signal` aborts. openid-client keeps the interval and `slow_down`; failures that
 * may pass (connection refused or reset, timeouts, 5xx) are retried with exponential backoff
 * (from the interval, up to 30 s) until the code expires, reported through `onTransient`.
 * @see RFC 8628 §3.4, §3.5
 * @throws LoginError `ERR_LOGIN_EXPIRED` when the code expired, `ERR_ABORTED` on `signal`; any final error as thrown.
 */
export async function pollDevice(
  config: oidc.Configuration,
  auth: oidc.DeviceAuthorizationResponse,
  options: { signal?: AbortSignal; onTransient?(failure: TransientFailure): void } = {},
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const expiresAt = Date.now() + auth.expires_in * 1000;
  const interval = auth.interval ?? 5;
  let failures = 0;
  for (;;) {
    const left = expiresAt - Date.now();
    if (left <= 0) throw new LoginError('ERR_LOGIN_EXPIRED', 'the code expired before it was approved; run the login again');
    const expiry = AbortSignal.timeout(left);
    const signal = options.signal ? AbortSignal.any([options.signal, expiry]) : expiry;
    try {
      return await oidc.pollDeviceAuthorizationGrant(config, { ...auth, interval }, undefined, { signal });
    } catch (err) {
      if (options.signal?.aborted) throw new LoginError('ERR_ABORTED', 'the login was interrupted', { cause: err });
      if (expiry.aborted) throw new LoginError('ERR_LOGIN_EXPIRED', 'the code expired before it was approved; run the login again', { cause: err });
      const reason = transientReason(err);
      if (!reason) throw err;
      failures += 1;
      const retryInMs = Math.min(MAX_BACKOFF_MS, interval * 1000 * 2 ** Math.min(failures - 1, 5));
      options.onTransient?.({ reason, retryInMs });
      // openid-client waits `interval` before its first request; this adds the rest of the backoff.
      await wait(Math.max(0, retryInMs - interval * 1000), options.signal);
    }
  }
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new LoginError('ERR_ABORTED', 'the login was interrupted'));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new LoginError('ERR_ABORTED', 'the login was interrupted'));
    }, { once: true });
  });
}
