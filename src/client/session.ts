import * as oidc from 'openid-client';
import { explain, LoginError } from './errors.ts';
import { startLoopback } from './loopback.ts';
import { type CachedSession, TokenCache } from './token_cache.ts';

/** Where to log in and which client to log in as. */
export interface ClientOptions {
  /** The issuer URL; https, or http on a loopback address (a development server). */
  issuer: string;
  clientId: string;
  /** Where tokens are cached; defaults to `$XDG_CONFIG_HOME/gatehouse` or `~/.config/gatehouse`. */
  cache?: TokenCache;
  signal?: AbortSignal;
}

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
}

export interface BrowserLoginOptions extends LoginOptions {
  /** Called with the authorization URL to open; the login waits for the redirect afterwards. */
  onAuthorizationUrl(url: string): void | Promise<void>;
  /** How long to wait for the redirect (default 5 minutes). */
  timeoutMs?: number;
}

export const DEFAULT_SCOPE = 'openid offline_access';
/** Refresh this long before the access token's expiry, so it is still valid when it is used. */
const EXPIRY_MARGIN_S = 10;

function issuerUrl(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new LoginError('ERR_BAD_ISSUER', `--issuer "${issuer}" is not a URL`, { usage: true });
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new LoginError('ERR_BAD_ISSUER', `--issuer must be an https URL (http only for a loopback development server), got "${issuer}"`, { usage: true });
  }
  return url;
}

/** Canonical issuer string used as the cache key (no trailing slash). */
function canonical(issuer: string): string {
  return issuerUrl(issuer).href.replace(/\/$/, '');
}

async function configure(opts: ClientOptions): Promise<oidc.Configuration> {
  const url = issuerUrl(opts.issuer);
  try {
    return await oidc.discovery(url, opts.clientId, { token_endpoint_auth_method: 'none' }, oidc.None(), {
      execute: url.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
      timeout: 30,
    });
  } catch (err) {
    throw explain(err, opts.issuer);
  }
}

function toSession(opts: ClientOptions, tokens: oidc.TokenEndpointResponse, previous?: CachedSession): CachedSession {
  const now = Math.floor(Date.now() / 1000);
  return {
    issuer: canonical(opts.issuer),
    client_id: opts.clientId,
    scope: tokens.scope ?? previous?.scope,
    token_type: tokens.token_type,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token ?? previous?.refresh_token,
    id_token: tokens.id_token ?? previous?.id_token,
    expires_at: typeof tokens.expires_in === 'number' ? now + tokens.expires_in : undefined,
    obtained_at: now,
  };
}

async function save(opts: ClientOptions, tokens: oidc.TokenEndpointResponse): Promise<CachedSession> {
  const session = toSession(opts, tokens);
  await (opts.cache ?? new TokenCache()).write(session);
  return session;
}

/**
 * Device authorization grant: asks for a code, hands it to `onPrompt`, then polls at the
 * announced `interval`, slowing down by 5 s on every `slow_down` (openid-client does both).
 * @see RFC 8628 §3.1–§3.5
 */
export async function loginWithDevice(opts: DeviceLoginOptions): Promise<CachedSession> {
  const config = await configure(opts);
  try {
    const auth = await oidc.initiateDeviceAuthorization(config, { scope: opts.scope ?? DEFAULT_SCOPE });
    await opts.onPrompt({ verificationUri: auth.verification_uri, verificationUriComplete: auth.verification_uri_complete, userCode: auth.user_code, expiresIn: auth.expires_in });
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, auth, undefined, { signal: opts.signal });
    return await save(opts, tokens);
  } catch (err) {
    throw explain(err, opts.issuer);
  }
}

/**
 * Authorization code + PKCE (S256) with `state`, the redirect received on 127.0.0.1 on a random
 * port. Asks for consent when `offline_access` is requested (OIDC Core §11).
 * @see RFC 8252 §7.3, RFC 7636
 */
export async function loginWithBrowser(opts: BrowserLoginOptions): Promise<CachedSession> {
  const config = await configure(opts);
  const scope = opts.scope ?? DEFAULT_SCOPE;
  const state = oidc.randomState();
  const verifier = oidc.randomPKCECodeVerifier();
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 300_000), ...(opts.signal ? [opts.signal] : [])];
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
    return await save(opts, tokens);
  } catch (err) {
    throw explain(err, opts.issuer);
  } finally {
    receiver.close();
  }
}

/** The cached session for this issuer and client, if any. */
export async function cachedSession(opts: ClientOptions): Promise<CachedSession | undefined> {
  return (opts.cache ?? new TokenCache()).read(canonical(opts.issuer), opts.clientId);
}

/**
 * A valid access token: the cached one while it has more than a few seconds left, otherwise a new
 * one from the refresh token (saved, since public clients' refresh tokens rotate).
 */
export async function accessToken(opts: ClientOptions): Promise<string> {
  const cache = opts.cache ?? new TokenCache();
  const issuer = canonical(opts.issuer);
  const fresh = (s: CachedSession | undefined) => s && (s.expires_at === undefined || s.expires_at - EXPIRY_MARGIN_S > Date.now() / 1000);
  const first = await cache.read(issuer, opts.clientId);
  if (!first) throw new LoginError('ERR_NOT_LOGGED_IN', `not logged in to ${issuer} as ${opts.clientId}; run \`gatehouse login\``);
  if (fresh(first)) return first.access_token;
  return cache.locked(issuer, opts.clientId, async () => {
    const session = await cache.read(issuer, opts.clientId);
    if (!session) throw new LoginError('ERR_NOT_LOGGED_IN', `not logged in to ${issuer} as ${opts.clientId}; run \`gatehouse login\``);
    if (fresh(session)) return session.access_token;
    if (!session.refresh_token) throw new LoginError('ERR_SESSION_EXPIRED', 'the access token expired and there is no refresh token (log in with the offline_access scope); run `gatehouse login` again');
    const config = await configure(opts);
    let tokens: oidc.TokenEndpointResponse;
    try {
      tokens = await oidc.refreshTokenGrant(config, session.refresh_token);
    } catch (err) {
      if ((err as { error?: string }).error === 'invalid_grant') {
        await cache.remove(issuer, opts.clientId);
        throw new LoginError('ERR_SESSION_EXPIRED', 'the session expired or was revoked; run `gatehouse login` again', { cause: err });
      }
      throw explain(err, opts.issuer);
    }
    const next = toSession(opts, tokens, session);
    await cache.write(next);
    return next.access_token;
  });
}

/**
 * Revokes the refresh token (which ends the whole grant at Gatehouse) and the access token, then
 * forgets them. Returns false when there was nothing cached.
 * @see RFC 7009
 */
export async function logout(opts: ClientOptions): Promise<boolean> {
  const cache = opts.cache ?? new TokenCache();
  const issuer = canonical(opts.issuer);
  return cache.locked(issuer, opts.clientId, async () => {
    const session = await cache.read(issuer, opts.clientId);
    if (!session) return false;
    const config = await configure(opts);
    try {
      if (session.refresh_token) await oidc.tokenRevocation(config, session.refresh_token, { token_type_hint: 'refresh_token' });
      await oidc.tokenRevocation(config, session.access_token, { token_type_hint: 'access_token' });
    } catch (err) {
      throw explain(err, opts.issuer);
    }
    await cache.remove(issuer, opts.clientId);
    return true;
  });
}
