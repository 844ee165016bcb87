import * as oidc from 'openid-client';
import { pollDevice, type TransientFailure } from './device_poll.ts';
import { canonical, type ClientOptions, configure } from './discovery.ts';
import { explain, LoginError, unavailable } from './errors.ts';
import { startLoopback } from './loopback.ts';
import { type CachedSession, type SignedInAccount, TokenCache } from './token_cache.ts';

export type { ClientOptions } from './discovery.ts';

export interface LoginOptions extends ClientOptions {
  /** Space-separated scopes; `offline_access` makes `accessToken()` able to refresh. */
  scope?: string;
}

/** What a device login shows the person (RFC 8628 §3.3). */
export interface DevicePrompt {
  verificationUri: string;
  verificationUriComplete?: string;
  userCode: string;
  expiresIn: number;
}

export interface DeviceLoginOptions extends LoginOptions {
  /** Called once with what to show; the caller prints it, draws a QR code, opens a browser. */
  onPrompt(prompt: DevicePrompt): void | Promise<void>;
  /** Called when a poll failed for a reason that may pass (server restarting…) and will be retried. */
  onRetry?(failure: TransientFailure): void;
}

export interface BrowserLoginOptions extends LoginOptions {
  /** Called with the authorization URL to open; the login waits for the redirect afterwards. */
  onAuthorizationUrl(url: string): void | Promise<void>;
  /** How long to wait for the redirect (default 5 minutes). */
  timeoutMs?: number;
}

/** What a login did besides caching the new session. */
export interface LoginResult {
  session: CachedSession;
  /**
   * The login this one replaced in the cache, if any: `revoked` when its refresh token (its whole
   * grant) was revoked at the issuer, `kept` when the revocation could not be sent.
   */
  replaced?: 'revoked' | 'kept';
}

export const DEFAULT_SCOPE = 'openid profile email offline_access';
/** Refresh this long before the access token's expiry, so it is still valid when it is used. */
const EXPIRY_MARGIN_S = 10;

/** The command that logs in again as this profile, for messages. */
export function loginCommand(p: { issuer: string; client_id: string; scope?: string }): string {
  const scope = p.scope && p.scope !== DEFAULT_SCOPE ? ` --scope '${p.scope}'` : '';
  return `gatehouse login --issuer ${p.issuer} --client-id ${p.client_id}${scope}`;
}

function accountOf(tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): SignedInAccount | undefined {
  const claims = tokens.id_token ? tokens.claims() : undefined;
  if (!claims) return undefined;
  const text = (v: unknown) => (typeof v === 'string' && v.length <= 256 ? v : undefined);
  return { sub: claims.sub, name: text(claims.name), preferred_username: text(claims.preferred_username), email: text(claims.email) };
}

function toSession(opts: LoginOptions, tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, previous?: CachedSession): CachedSession {
  const now = Math.floor(Date.now() / 1000);
  return {
    issuer: canonical(opts.issuer),
    client_id: opts.clientId,
    scope: tokens.scope ?? previous?.scope,
    requested_scope: opts.scope ?? previous?.requested_scope ?? DEFAULT_SCOPE,
    account: accountOf(tokens) ?? previous?.account,
    token_type: tokens.token_type,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token ?? previous?.refresh_token,
    id_token: tokens.id_token ?? previous?.id_token,
    expires_at: typeof tokens.expires_in === 'number' ? now + tokens.expires_in : undefined,
    obtained_at: now,
  };
}

/** Revokes a session's grant (through its refresh token) and its access token; false when the issuer could not be told. */
async function revokeSession(config: oidc.Configuration, session: CachedSession): Promise<boolean> {
  try {
    if (session.refresh_token) await oidc.tokenRevocation(config, session.refresh_token, { token_type_hint: 'refresh_token' });
    await oidc.tokenRevocation(config, session.access_token, { token_type_hint: 'access_token' });
    return true;
  } catch {
    return false;
  }
}

/** Caches the new session; the one it replaces is revoked (best effort), so its grant does not linger. */
async function save(opts: LoginOptions, config: oidc.Configuration, tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): Promise<LoginResult> {
  const cache = opts.cache ?? new TokenCache();
  const session = toSession(opts, tokens);
  const previous = await cache.read(session.issuer, session.client_id);
  await cache.write(session);
  if (!previous || previous.access_token === session.access_token) return { session };
  return { session, replaced: (await revokeSession(config, previous)) ? 'revoked' : 'kept' };
}

/**
 * Device authorization grant: asks for a code, hands it to `onPrompt`, then polls at the
 * announced `interval`, slowing down by 5 s on every `slow_down`, and riding out a server restart
 * or overload (retried with backoff until the code expires).
 * @see RFC 8628 §3.1–§3.5
 */
export async function loginWithDevice(opts: DeviceLoginOptions): Promise<LoginResult> {
  const config = await configure(opts);
  try {
    const auth = await oidc.initiateDeviceAuthorization(config, { scope: opts.scope ?? DEFAULT_SCOPE });
    await opts.onPrompt({ verificationUri: auth.verification_uri, verificationUriComplete: auth.verification_uri_complete, userCode: auth.user_code, expiresIn: auth.expires_in });
    const tokens = await pollDevice(config, auth, { signal: opts.signal, onTransient: opts.onRetry });
    return await save(opts, config, tokens);
  } catch (err) {
    throw explain(err, opts.issuer);
  }
}

/**
 * Authorization code + PKCE (S256) with `state`, the redirect received on 127.0.0.1 on a random
 * port. Asks for consent when `offline_access` is requested (OIDC Core §11).
 * @see RFC 8252 §7.3, RFC 7636
 */
export async function loginWithBrowser(opts: BrowserLoginOptions): Promise<LoginResult> {
  const config = await configure(opts);
  const scope = opts.scope ?? DEFAULT_SCOPE;
  const state = oidc.randomState();
  const verifier = oidc.randomPKCECodeVerifier();
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signals = [timeout, ...(opts.signal ? [opts.signal] : [])];
  const receiver = await startLoopback(state, AbortSignal.any(signals));
  try {
    const params: Record<string, string> = {
      redirect_uri: receiver.redirectUri,
      scope,
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    };
    if (scope.split(' ').includes('offline_access')) params.prompt = 'consent';
    await opts.onAuthorizationUrl(oidc.buildAuthorizationUrl(config, params).href);
    const callback = await receiver.callback;
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: scope.split(' ').includes('openid') });
    return await save({ ...opts, scope }, config, tokens);
  } catch (err) {
    // Nobody came back: the sign-in was left unfinished, or refused and its page closed (the
    // server cannot tell a loopback listener). Say so, rather than "interrupted".
    if (timeout.aborted && !opts.signal?.aborted) throw new LoginError('ERR_LOGIN_EXPIRED', `no answer from the browser within ${waited(timeoutMs)} (the sign-in was not finished, or its page was closed); run the login again`, { cause: err });
    throw explain(err, opts.issuer);
  } finally {
    receiver.close();
  }
}

/** A wait as a person reads it: "5 minutes", "90 seconds". */
function waited(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}` : `${Math.round(ms / 1000)} seconds`;
}

/** The cached session for this issuer and client, if any. */
export async function cachedSession(opts: ClientOptions): Promise<CachedSession | undefined> {
  return (opts.cache ?? new TokenCache()).read(canonical(opts.issuer), opts.clientId);
}

/**
 * A valid access token: the cached one while it has more than a few seconds left, otherwise a new
 * one from the refresh token (saved, since public clients' refresh tokens rotate). When the server
 * refuses the refresh token the tokens are dropped, the profile kept.
 */
export async function accessToken(opts: ClientOptions): Promise<string> {
  const cache = opts.cache ?? new TokenCache();
  const issuer = canonical(opts.issuer);
  const again = (scope?: string) => loginCommand({ issuer, client_id: opts.clientId, scope });
  const fresh = (s: CachedSession | undefined) => s && (s.expires_at === undefined || s.expires_at - EXPIRY_MARGIN_S > Date.now() / 1000);
  const first = await cache.read(issuer, opts.clientId);
  if (!first) throw new LoginError('ERR_NOT_LOGGED_IN', `not logged in to ${issuer} as ${opts.clientId}; run \`${again()}\``);
  if (fresh(first)) return first.access_token;
  return cache.locked(issuer, opts.clientId, async () => {
    const session = await cache.read(issuer, opts.clientId);
    if (!session) throw new LoginError('ERR_NOT_LOGGED_IN', `not logged in to ${issuer} as ${opts.clientId}; run \`${again()}\``);
    if (fresh(session)) return session.access_token;
    if (!session.refresh_token) throw new LoginError('ERR_SESSION_EXPIRED', `the access token expired and there is no refresh token (log in with the offline_access scope); run \`${again(session.requested_scope)}\``);
    const config = await configure(opts);
    let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
    try {
      tokens = await oidc.refreshTokenGrant(config, session.refresh_token);
    } catch (err) {
      if ((err as { error?: string }).error === 'invalid_grant') {
        await cache.forget(session);
        throw new LoginError('ERR_SESSION_EXPIRED', `the session expired or was revoked; run \`${again(session.requested_scope)}\``, { cause: err });
      }
      throw (await unavailable(err, opts.issuer)) ?? explain(err, opts.issuer);
    }
    const next = toSession({ ...opts, scope: session.requested_scope }, tokens, session);
    await cache.write(next);
    return next.access_token;
  });
}

/** What `logout` did. */
export interface LogoutResult {
  /** False when nothing was cached for this issuer and client. */
  loggedIn: boolean;
  /** Whether the issuer was told (RFC 7009); false when it could not be reached or `local` was asked. */
  revoked: boolean;
}

/**
 * Revokes the refresh token (which ends the whole grant at Gatehouse) and the access token, then
 * forgets them locally whatever the issuer answered (the profile stays for the next login). With
 * `local`, nothing is sent.
 * @see RFC 7009
 */
export async function logout(opts: ClientOptions & { local?: boolean }): Promise<LogoutResult> {
  const cache = opts.cache ?? new TokenCache();
  const issuer = canonical(opts.issuer);
  return cache.locked(issuer, opts.clientId, async () => {
    const session = await cache.read(issuer, opts.clientId);
    if (!session) return { loggedIn: false, revoked: false };
    let revoked = false;
    if (!opts.local) {
      const config = await configure(opts).catch(() => undefined);
      revoked = config ? await revokeSession(config, session) : false;
    }
    await cache.forget(session);
    return { loggedIn: true, revoked };
  });
}
