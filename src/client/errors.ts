/**
 * Why a login, token or logout did not work, with a stable `code` callers can switch on.
 * `usage` marks mistakes in what the caller asked for (a CLI exits 2 on those, 1 otherwise).
 */
export class LoginError extends Error {
  readonly code: string;
  readonly usage: boolean;
  constructor(code: string, message: string, options: { usage?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'LoginError';
    this.code = code;
    this.usage = options.usage ?? false;
  }
}

/** Turns what openid-client or fetch threw into a LoginError a person can act on. */
export function explain(err: unknown, issuer: string): LoginError {
  if (err instanceof LoginError) return err;
  const e = err as { name?: string; message?: string; error?: string; error_description?: string; code?: string; cause?: { code?: string; message?: string } };
  if (typeof e?.error === 'string') {
    const detail = e.error_description ? `: ${e.error_description}` : '';
    switch (e.error) {
      case 'access_denied':
        return new LoginError('ERR_LOGIN_DENIED', `the sign-in was denied${detail}`, { cause: err });
      case 'expired_token':
        return new LoginError('ERR_LOGIN_EXPIRED', 'the code expired before it was approved; run the login again', { cause: err });
      case 'invalid_client':
      case 'unauthorized_client':
        return new LoginError('ERR_CLIENT_REJECTED', `the server does not accept this client for this flow (${e.error}${detail})`, { cause: err });
      case 'invalid_scope':
        return new LoginError('ERR_SCOPE_REJECTED', `the server refused the requested scope${detail}`, { cause: err });
      default:
        return new LoginError('ERR_OAUTH', `the server answered ${e.error}${detail}`, { cause: err });
    }
  }
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return new LoginError('ERR_ABORTED', 'the login was interrupted', { cause: err });
  const net = e?.cause?.code ?? e?.code;
  if (net && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|UND_ERR_CONNECT_TIMEOUT)$/.test(net) || e?.message === 'fetch failed') {
    return new LoginError('ERR_ISSUER_UNREACHABLE', `cannot reach ${issuer}: ${e?.cause?.message ?? e?.message ?? net}`, { cause: err });
  }
  const status = (e?.cause as unknown) instanceof Response ? (e.cause as unknown as Response).status : undefined;
  if (status !== undefined && status >= 500) {
    return new LoginError('ERR_ISSUER_UNAVAILABLE', `${issuer} cannot answer right now (HTTP ${status}); try again later`, { cause: err });
  }
  if (e?.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || e?.code === 'OAUTH_RESPONSE_IS_NOT_JSON' || e?.code === 'OAUTH_INVALID_RESPONSE') {
    return new LoginError('ERR_BAD_RESPONSE', `${issuer} did not answer like an OpenID Provider: ${e.message}`, { cause: err });
  }
  return new LoginError('ERR_LOGIN_FAILED', e?.message ?? String(err), { cause: err });
}

/**
 * A token endpoint that answered 5xx (RFC 6749 §5.2 `temporarily_unavailable` with 503: Gatehouse
 * restarting, its store down, or the upstream IdP or directory of the account not answering at a
 * refresh): an ERR_ISSUER_UNAVAILABLE error naming the server's reason, else undefined.
 */
export async function unavailable(err: unknown, issuer: string): Promise<LoginError | undefined> {
  const response = (err as { cause?: unknown })?.cause;
  if (!(response instanceof Response) || response.status < 500) return undefined;
  const body = (await response.json().catch(() => undefined)) as { error?: unknown; error_description?: unknown } | undefined;
  const reason = typeof body?.error === 'string' ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}` : `HTTP ${response.status}`;
  return new LoginError('ERR_ISSUER_UNAVAILABLE', `${issuer} cannot renew the session right now; it is kept, try again later (${reason})`, { cause: err });
}
