import { readFile } from 'node:fs/promises';
import type * as oidc from 'openid-client';
import { type ConnectorConfig, parsePrivateKey } from '../config/connectors.ts';
import { GatehouseError } from '../shared/errors.ts';
import { lazyModule } from '../shared/lazy_module.ts';
import type { Logger } from '../shared/logger.ts';
import { Secret } from '../shared/secret.ts';
import type { Store } from '../storage/adapter.ts';
import type { Account } from './account.ts';
import { reviewFederatedAccount } from './federated.ts';
import type { AccountSource, RecheckResult, SourceState } from './source_recheck.ts';

/** openid-client, loaded when the first upstream connector is used (shared/lazy_module.ts). */
const openidClient = lazyModule<typeof oidc>('openid-client');

/**
 * Why an upstream step failed, as the person is told:
 * - `unavailable`: the upstream did not answer (network, timeout, 5xx);
 * - `misconfigured`: its discovery document is unusable (e.g. it names another issuer), or it
 *   refused our client credentials (`invalid_client`: a wrong client secret or key);
 * - `upstream_error`: it answered with an OAuth error (the person cancelled, invalid_grant, …);
 * - `rejected`: the response failed validation (state, nonce, issuer, signature) — forged or replayed.
 */
export type UpstreamProblem = 'unavailable' | 'misconfigured' | 'upstream_error' | 'rejected';

export class UpstreamError extends GatehouseError {
  readonly problem: UpstreamProblem;
  /** The upstream's OAuth error code, for `upstream_error`. */
  readonly oauthError?: string;

  constructor(problem: UpstreamProblem, message: string, options: { cause?: unknown; oauthError?: string } = {}) {
    super(`ERR_UPSTREAM_${problem.toUpperCase()}`, message, { status: problem === 'unavailable' ? 503 : problem === 'misconfigured' ? 502 : 400, cause: options.cause });
    this.problem = problem;
    this.oauthError = options.oauthError;
  }
}

/** What the browser carries to the upstream; kept in the store until the callback. */
export interface UpstreamRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

const TIMEOUT_MS = 10_000;

function classify(err: unknown, during: 'discovery' | 'callback'): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = err as Error & { code?: string; error?: string; status?: number; cause?: unknown };
  // A 401 from the token endpoint (with or without a WWW-Authenticate challenge) is about our
  // client credentials, not about the person's answer.
  const challenge = err instanceof openidClient().WWWAuthenticateChallengeError ? err.cause.map((c) => c.parameters.error).find(Boolean) : undefined;
  if (challenge === 'invalid_token') return new UpstreamError('upstream_error', 'upstream refused the access token (invalid_token)', { cause: err, oauthError: 'invalid_token' });
  if ((err instanceof openidClient().WWWAuthenticateChallengeError && err.status === 401) || (err instanceof openidClient().ResponseBodyError && (err.error === 'invalid_client' || err.status === 401))) {
    return new UpstreamError('misconfigured', `${challenge ?? e.error ?? 'invalid_client'} at the upstream token endpoint (HTTP 401): the upstream did not accept the connector's client credentials; check clientId and the client secret or key`, { cause: err, oauthError: 'invalid_client' });
  }
  if (err instanceof openidClient().AuthorizationResponseError || err instanceof openidClient().ResponseBodyError) {
    if (err instanceof openidClient().ResponseBodyError && err.status >= 500) return new UpstreamError('unavailable', `upstream answered ${err.status}`, { cause: err });
    return new UpstreamError('upstream_error', `upstream answered ${e.error}`, { cause: err, oauthError: e.error });
  }
  if (err instanceof TypeError || e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT' || e.name === 'TimeoutError') {
    return new UpstreamError('unavailable', `upstream not reachable (${(e.cause as Error | undefined)?.message ?? e.message})`, { cause: err });
  }
  if (e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || e.code === 'OAUTH_RESPONSE_IS_NOT_JSON') {
    return new UpstreamError('unavailable', `upstream answered unexpectedly (${e.message})`, { cause: err });
  }
  const detail = (e.cause as Error | undefined)?.message ? `${e.message}: ${(e.cause as Error).message}` : e.message;
  if (during === 'discovery') return new UpstreamError('misconfigured', `discovery refused: ${detail}`, { cause: err });
  return new UpstreamError('rejected', `response refused: ${detail}`, { cause: err });
}

/** How this connector authenticates at the upstream's token endpoint, from the given secret (client secret or private key). */
function clientAuth(config: ConnectorConfig, current: Secret): { auth: oidc.ClientAuth; method: string } {
  if (config.clientSecret) {
    const secret = current.reveal();
    return config.clientSecretMethod === 'client_secret_post'
      ? { auth: openidClient().ClientSecretPost(secret), method: 'client_secret_post' }
      : { auth: openidClient().ClientSecretBasic(secret), method: 'client_secret_basic' };
  }
  const pk = config.privateKeyJwt!;
  const keyObject = parsePrivateKey(current.reveal());
  const algorithm =
    keyObject.asymmetricKeyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : keyObject.asymmetricKeyType === 'ed25519'
        ? { name: 'Ed25519' }
        : { name: 'ECDSA', namedCurve: keyObject.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : keyObject.asymmetricKeyDetails?.namedCurve === 'secp521r1' ? 'P-521' : 'P-256' };
  const key = keyObject.toCryptoKey(algorithm, false, ['sign']);
  return { auth: openidClient().PrivateKeyJwt(pk.kid ? { key, kid: pk.kid } : key), method: 'private_key_jwt' };
}

/** What a successful callback yields: the person's claims, and what later re-checks need. */
export interface UpstreamSignIn {
  claims: Record<string, unknown>;
  /** Upstream refresh/access tokens for `recheck` (kept sealed in the store, never logged). */
  state: SourceState;
}

/** How long a reachability probe's answer is trusted before the next redirect probes again. */
const PROBE_CACHE_MS = 10_000;
const PROBE_TIMEOUT_MS = 3_000;

function tokenState(tokens: oidc.TokenEndpointResponse, previous?: SourceState): SourceState {
  return {
    refreshToken: tokens.refresh_token ?? (typeof previous?.refreshToken === 'string' ? previous.refreshToken : undefined),
    accessToken: tokens.access_token,
    accessTokenExpiresAt: typeof tokens.expires_in === 'number' ? Math.floor(Date.now() / 1000) + tokens.expires_in : undefined,
  };
}

/**
 * One upstream OpenID Connect provider, through openid-client: discovery (retried until it
 * succeeds, never fatal), authorization code with PKCE, state and nonce, ID token validation and
 * userinfo, and the offboarding re-check at refresh time. Only the discovered metadata is kept in
 * memory; per-sign-in state lives in the store.
 */
export class UpstreamClient implements AccountSource {
  readonly config: ConnectorConfig;
  readonly redirectUri: string;
  #logger: Logger;
  #store: Store;
  #discovered?: Promise<oidc.Configuration>;
  #secret?: Secret;
  #probe?: { at: number; reachable: Promise<boolean> };

  constructor(config: ConnectorConfig, redirectUri: string, logger: Logger, store: Store) {
    this.config = config;
    this.redirectUri = redirectUri;
    this.#logger = logger;
    this.#store = store;
    this.#secret = config.clientSecret ?? config.privateKeyJwt?.key;
  }

  get id(): string {
    return this.config.id;
  }

  /** The connector's `recheckSeconds`: how old the last check may be when a refresh token is used. */
  get maxStalenessSeconds(): number {
    return this.config.recheckSeconds;
  }

  /** Starts discovery in the background at start; a failure is logged and retried on first use. */
  warmUp(): void {
    this.#configuration().then(
      () => this.#logger.info({ event: 'upstream.discovered', connector: this.id, issuer: this.config.issuer }, `connector ${this.id}: discovery succeeded`),
      (err: UpstreamError) => this.#logger.warn({ event: `upstream.${err.problem}`, connector: this.id, issuer: this.config.issuer, error: err.message }, `connector ${this.id}: ${err.message}; retrying when someone uses it`),
    );
  }

  #configuration(): Promise<oidc.Configuration> {
    this.#discovered ??= (async () => {
      const insecure = new URL(this.config.issuer).protocol === 'http:';
      const configuration = await openidClient().discovery(new URL(this.config.issuer), this.config.clientId, undefined, undefined, {
        execute: insecure ? [openidClient().allowInsecureRequests] : [],
        timeout: TIMEOUT_MS / 1000,
      });
      configuration.timeout = TIMEOUT_MS / 1000;
      return configuration;
    })().catch((err: unknown) => {
      this.#discovered = undefined;
      throw classify(err, 'discovery');
    });
    return this.#discovered;
  }

  /**
   * The secret as it is now: a secret from a file is read again at every token exchange (a
   * rotated Kubernetes Secret applies without a restart); an unreadable or empty file keeps the
   * last good value and is logged.
   */
  async #currentSecret(): Promise<Secret> {
    const file = this.config.secretFile;
    if (file) {
      try {
        const value = (await readFile(file, 'utf8')).trim();
        if (value) this.#secret = new Secret(value);
        else this.#logger.warn({ event: 'upstream.secret_unreadable', connector: this.id, path: file }, `connector ${this.id}: ${file} is empty; using the secret read before`);
      } catch (err) {
        this.#logger.warn({ event: 'upstream.secret_unreadable', connector: this.id, path: file, error: (err as NodeJS.ErrnoException).code }, `connector ${this.id}: cannot read ${file}; using the secret read before`);
      }
    }
    if (!this.#secret) throw new UpstreamError('misconfigured', 'no client secret or key available');
    return this.#secret;
  }

  /** The discovered metadata with client authentication built from the current secret. */
  async #tokenConfiguration(): Promise<oidc.Configuration> {
    const discovered = await this.#configuration();
    let auth: ReturnType<typeof clientAuth>;
    try {
      auth = clientAuth(this.config, await this.#currentSecret());
    } catch (err) {
      throw err instanceof UpstreamError ? err : new UpstreamError('misconfigured', `the connector's private key is unusable (${(err as Error).message})`, { cause: err });
    }
    const configuration = new (openidClient().Configuration)(discovered.serverMetadata(), this.config.clientId, { redirect_uris: [this.redirectUri], token_endpoint_auth_method: auth.method }, auth.auth);
    if (new URL(this.config.issuer).protocol === 'http:') openidClient().allowInsecureRequests(configuration);
    configuration.timeout = TIMEOUT_MS / 1000;
    return configuration;
  }

  /**
   * Whether the authorization endpoint answers at all (any HTTP status below 500), so a person
   * is not sent to a browser error page. Cached for a few seconds; probes share one request.
   */
  async #reachable(endpoint: string): Promise<boolean> {
    if (this.#probe && Date.now() - this.#probe.at < PROBE_CACHE_MS) return this.#probe.reachable;
    const reachable = fetch(endpoint, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).then(
      async (res) => {
        await res.body?.cancel();
        return res.status < 500;
      },
      () => false,
    );
    this.#probe = { at: Date.now(), reachable };
    return reachable;
  }

  /**
   * A fresh authorization request: random state and nonce, S256 PKCE; `prompt=consent` when
   * `offline_access` is asked for (OIDC Core §11), so the upstream issues a refresh token for re-checks.
   * @throws UpstreamError `unavailable` when the upstream's authorization endpoint does not answer.
   */
  async authorizationRequest(): Promise<UpstreamRequest> {
    const configuration = await this.#configuration();
    const endpoint = configuration.serverMetadata().authorization_endpoint;
    if (endpoint && !(await this.#reachable(endpoint))) throw new UpstreamError('unavailable', `authorization endpoint ${endpoint} not reachable`);
    const codeVerifier = openidClient().randomPKCECodeVerifier();
    const state = openidClient().randomState();
    const nonce = openidClient().randomNonce();
    const url = openidClient().buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: this.config.scopes.join(' '),
      response_type: 'code',
      state,
      nonce,
      code_challenge: await openidClient().calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      ...(this.config.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
    });
    return { url, state, nonce, codeVerifier };
  }

  /**
   * Validates the callback (state, `iss`, code exchange with the PKCE verifier, ID token signature,
   * issuer, audience and nonce) and returns the ID token claims merged with userinfo, plus the
   * upstream tokens for later re-checks.
   * @throws UpstreamError
   */
  async redeem(callbackQuery: URLSearchParams, expected: { state: string; nonce: string; codeVerifier: string }): Promise<UpstreamSignIn> {
    try {
      const configuration = await this.#tokenConfiguration();
      const current = new URL(this.redirectUri);
      current.search = callbackQuery.toString();
      const tokens = await openidClient().authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new UpstreamError('rejected', 'no ID token in the token response');
      return { claims: await this.#withUserInfo(configuration, tokens.access_token, idClaims), state: tokenState(tokens) };
    } catch (err) {
      throw classify(err, 'callback');
    }
  }

  async #withUserInfo(configuration: oidc.Configuration, accessToken: string | undefined, idClaims: oidc.IDToken): Promise<Record<string, unknown>> {
    let info: Record<string, unknown> = {};
    if (configuration.serverMetadata().userinfo_endpoint && accessToken) info = await openidClient().fetchUserInfo(configuration, accessToken, idClaims.sub);
    // The ID token's identity claims win: userinfo only adds attributes.
    return { ...info, ...idClaims };
  }

  /**
   * The offboarding check (accounts/source_recheck.ts), as Dex does it: with the upstream refresh token
   * from the sign-in, a refresh grant at the upstream (a disabled or deleted user's refresh
   * fails: `refused`), then the connector's policy against the fresh claims; without one, userinfo
   * with the upstream access token while it is valid. With neither (the connector does not ask for
   * `offline_access` and the access token expired) the person cannot be vouched for: `refused`,
   * and they sign in again.
   */
  async recheck(account: Account, state: SourceState | undefined): Promise<RecheckResult> {
    const refreshToken = typeof state?.refreshToken === 'string' ? state.refreshToken : undefined;
    const accessToken = typeof state?.accessToken === 'string' ? state.accessToken : undefined;
    const accessValid = accessToken && typeof state?.accessTokenExpiresAt === 'number' && state.accessTokenExpiresAt > Date.now() / 1000 + 5;
    if (!refreshToken && !accessValid) return { verdict: 'refused', reason: 'upstream_session_ended' };
    try {
      const configuration = await this.#tokenConfiguration();
      let claims: Record<string, unknown>;
      let next: SourceState | undefined;
      if (refreshToken) {
        const tokens = await openidClient().refreshTokenGrant(configuration, refreshToken);
        const idClaims = tokens.claims();
        claims = idClaims ? await this.#withUserInfo(configuration, tokens.access_token, idClaims) : await openidClient().fetchUserInfo(configuration, tokens.access_token, account.upstream!.subject);
        next = tokenState(tokens, state);
      } else {
        claims = await openidClient().fetchUserInfo(configuration, accessToken!, account.upstream!.subject);
      }
      const refusal = await reviewFederatedAccount(this.#store, this.config, account, { sub: account.upstream!.subject, ...claims });
      return refusal ? { verdict: 'refused', reason: `upstream_${refusal}` } : { verdict: 'active', state: next };
    } catch (err) {
      const e = classify(err, 'callback');
      if (e.problem === 'upstream_error' && (e.oauthError === 'invalid_grant' || e.oauthError === 'invalid_token')) return { verdict: 'refused', reason: `upstream_${e.oauthError}` };
      this.#logger.warn({ event: `upstream.${e.problem}`, connector: this.id, issuer: this.config.issuer, error: e.message, upstream_error: e.oauthError }, `connector ${this.id}: re-check failed: ${e.message}`);
      return { verdict: 'unreachable', reason: e.problem };
    }
  }
}
