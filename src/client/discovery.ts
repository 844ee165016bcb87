import * as oidc from 'openid-client';
import { explain, LoginError } from './errors.ts';
import type { TokenCache } from './token_cache.ts';

/** Where to log in and which client to log in as. */
export interface ClientOptions {
  /** The issuer URL; https, or http on a loopback address (a development server). */
  issuer: string;
  clientId: string;
  /** Where tokens are cached; defaults to `$XDG_CONFIG_HOME/gatehouse` or `~/.config/gatehouse`. */
  cache?: TokenCache;
  signal?: AbortSignal;
}

export function issuerUrl(issuer: string): URL {
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
export function canonical(issuer: string): string {
  return issuerUrl(issuer).href.replace(/\/$/, '');
}

/**
 * The issuer a discovery document names when it is not the one asked for (RFC 8414 §3.3 requires
 * them to be identical), e.g. `http://localhost:4710` asked, `http://127.0.0.1:4710` configured.
 */
function mismatchedIssuer(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { attribute?: string; body?: { issuer?: unknown } } };
  if (e?.code !== 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' || e.cause?.attribute !== 'issuer') return undefined;
  return typeof e.cause.body?.issuer === 'string' ? e.cause.body.issuer : undefined;
}

/** OpenID Provider discovery for a public client (no client authentication). */
export async function configure(opts: ClientOptions): Promise<oidc.Configuration> {
  const url = issuerUrl(opts.issuer);
  try {
    return await oidc.discovery(url, opts.clientId, { token_endpoint_auth_method: 'none' }, oidc.None(), {
      execute: url.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
      timeout: 30,
    });
  } catch (err) {
    const actual = mismatchedIssuer(err);
    if (actual !== undefined) {
      const shown = actual.slice(0, 200).replace(/\p{Cc}/gu, '?');
      throw new LoginError('ERR_ISSUER_MISMATCH', `${canonical(opts.issuer)} says its issuer is ${shown}: the two must be identical; use --issuer ${shown}`, { usage: true, cause: err });
    }
    throw explain(err, opts.issuer);
  }
}
