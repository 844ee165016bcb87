import * as oidc from 'openid-client';
import { type ConnectorConfig, parsePrivateKey } from '../config/connectors.ts';
import { GatehouseError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

/**
 * Why an upstream step failed, as the person is told:
 * - `unavailable`: the upstream did not answer (network, timeout, 5xx);
 * - `misconfigured`: its discovery document is unusable (e.g. it names another issuer);
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
  if (err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError) {
    if (err instanceof oidc.ResponseBodyError && err.status >= 500) return new UpstreamError('unavailable', `upstream answered ${err.status}`, { cause: err });
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

function clientAuth(config: ConnectorConfig): { auth: oidc.ClientAuth; method: string } | Promise<{ auth: oidc.ClientAuth; method: string }> {
  if (config.clientSecret) {
    const secret = config.clientSecret.reveal();
    return config.clientSecretMethod === 'client_secret_post'
      ? { auth: oidc.ClientSecretPost(secret), method: 'client_secret_post' }
      : { auth: oidc.ClientSecretBasic(secret), method: 'client_secret_basic' };
  }
  const pk = config.privateKeyJwt!;
  const keyObject = parsePrivateKey(pk.key.reveal());
  const algorithm =
    keyObject.asymmetricKeyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : keyObject.asymmetricKeyType === 'ed25519'
        ? { name: 'Ed25519' }
        : { name: 'ECDSA', namedCurve: keyObject.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : keyObject.asymmetricKeyDetails?.namedCurve === 'secp521r1' ? 'P-521' : 'P-256' };
  const key = keyObject.toCryptoKey(algorithm, false, ['sign']);
  return { auth: oidc.PrivateKeyJwt(pk.kid ? { key, kid: pk.kid } : key), method: 'private_key_jwt' };
}

/**
 * One upstream OpenID Connect provider, through openid-client: discovery (retried until it
 * succeeds, never fatal), authorization code with PKCE, state and nonce, ID token validation and
 * userinfo. Only the discovered metadata is kept in memory; per-sign-in state lives in the store.
 */
export class UpstreamClient {
  readonly config: ConnectorConfig;
  readonly redirectUri: string;
  #logger: Logger;
  #discovered?: Promise<oidc.Configuration>;

  constructor(config: ConnectorConfig, redirectUri: string, logger: Logger) {
    this.config = config;
    this.redirectUri = redirectUri;
    this.#logger = logger;
  }

  get id(): string {
    return this.config.id;
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
      const { auth, method } = await clientAuth(this.config);
      const insecure = new URL(this.config.issuer).protocol === 'http:';
      const configuration = await oidc.discovery(
        new URL(this.config.issuer),
        this.config.clientId,
        { redirect_uris: [this.redirectUri], token_endpoint_auth_method: method },
        auth,
        { execute: insecure ? [oidc.allowInsecureRequests] : [], timeout: TIMEOUT_MS / 1000 },
      );
      configuration.timeout = TIMEOUT_MS / 1000;
      return configuration;
    })().catch((err: unknown) => {
      this.#discovered = undefined;
      throw classify(err, 'discovery');
    });
    return this.#discovered;
  }

  /** A fresh authorization request: random state and nonce, S256 PKCE. */
  async authorizationRequest(): Promise<UpstreamRequest> {
    const configuration = await this.#configuration();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: this.config.scopes.join(' '),
      response_type: 'code',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url, state, nonce, codeVerifier };
  }

  /**
   * Validates the callback (state, `iss`, code exchange with the PKCE verifier, ID token signature,
   * issuer, audience and nonce) and returns the ID token claims merged with userinfo.
   * @throws UpstreamError
   */
  async redeem(callbackQuery: URLSearchParams, expected: { state: string; nonce: string; codeVerifier: string }): Promise<Record<string, unknown>> {
    const configuration = await this.#configuration();
    try {
      const current = new URL(this.redirectUri);
      current.search = callbackQuery.toString();
      const tokens = await oidc.authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new UpstreamError('rejected', 'no ID token in the token response');
      let info: Record<string, unknown> = {};
      if (configuration.serverMetadata().userinfo_endpoint && tokens.access_token) {
        info = await oidc.fetchUserInfo(configuration, tokens.access_token, idClaims.sub);
      }
      // The ID token's identity claims win: userinfo only adds attributes.
      return { ...info, ...idClaims };
    } catch (err) {
      throw classify(err, 'callback');
    }
  }
}
