import type Provider from 'oidc-provider';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import type { Config } from '../config/load.ts';
import type { Logger } from '../shared/logger.ts';
import type { Store } from '../storage/adapter.ts';
import type { Audit } from '../shared/audit.ts';
import { canonicalAuthorization } from './authorization.ts';
import { clientCertificates } from './certificate_source.ts';
import { clientSecretHashing } from './client_secrets.ts';
import { documentCache } from './document_cache.ts';
import { errorBoundary } from './errors.ts';
import type { Metrics } from './metrics.ts';
import { auditRevocations } from './observability.ts';
import { healthRoutes, type Readiness } from './health.ts';
import { pinIssuerOrigin } from './issuer_origin.ts';
import { mtlsEndpointAliases, withoutCertificateBinding } from './mtls_aliases.ts';
import { forwardedHeaderPolicy } from './proxy.ts';
import { requestLogging } from './request_context.ts';
import { canonicalRoutePaths, DISCOVERY_PATHS } from './route_paths.ts';
import { securityHeaders } from './security_headers.ts';
import { staticFiles } from './static_files.ts';

/**
 * The settings the app's own middleware reads: the issuer, which proxies are believed
 * (GATEHOUSE_TRUST_PROXY, _TRUSTED_PROXIES, _CLIENT_CERT_HEADER) and, with the mTLS listener on,
 * its origin advertised as `mtls_endpoint_aliases` (GATEHOUSE_MTLS_ORIGIN).
 */
export type AppSettings = Pick<Config, 'issuer' | 'trustProxy' | 'trustedProxies' | 'clientCertHeader' | 'mtlsEnabled' | 'mtlsOrigin'>;

export interface AppOptions {
  provider: Provider;
  store: Store;
  logger: Logger;
  readiness: Readiness;
  audit: Audit;
  metrics: Metrics;
  /** Feature routes (guards, features, interactions) mounted before oidc-provider's own. */
  routes?: Middleware[];
}

/**
 * The paths of the documents that are the same for every plain GET (document_cache.ts): both
 * discovery documents (route_paths.ts: `pathFor('discovery')` names only
 * `/.well-known/oauth-authorization-server`) and the JWKS. canonicalRoutePaths folds every
 * spelling of each to these paths.
 */
export function documentPaths(provider: Provider): string[] {
  return [...DISCOVERY_PATHS, provider.pathFor('jwks', { mountPath: '' })];
}

/** The endpoints that take POST only (RFC 6749 §3.2, RFC 7662 §2, RFC 7009 §2, RFC 8628 §3.1, RFC 7591 §3), of those enabled. */
function postOnlyPaths(provider: Provider): string[] {
  const paths: string[] = [];
  for (const route of ['token', 'introspection', 'revocation', 'device_authorization', 'registration'] as const) {
    try {
      paths.push(provider.pathFor(route, { mountPath: '' }));
    } catch {
      // the feature is off (registration closed): no such route
    }
  }
  return paths;
}

function registrationPath(provider: Provider): string | undefined {
  try {
    return provider.pathFor('registration', { mountPath: '' });
  } catch {
    return undefined;
  }
}

/**
 * Puts our middleware in front of oidc-provider's router (Provider is a koa app and `use`
 * inserts before its own routes), so one app serves both listeners.
 */
export function buildApp(settings: AppSettings, options: AppOptions): Provider {
  const { provider, logger } = options;
  const mtlsOrigin = settings.mtlsEnabled ? settings.mtlsOrigin : undefined;
  const mw: Middleware[] = [
    canonicalRoutePaths(provider),
    canonicalAuthorization(),
    forwardedHeaderPolicy({ trustProxy: settings.trustProxy, trustedProxies: settings.trustedProxies, logger }),
    requestLogging(logger),
    options.metrics.middleware(),
    errorBoundary(logger, { postOnly: postOnlyPaths(provider), preflighted: postOnlyPaths(provider).filter((path) => path !== registrationPath(provider)) }),
    documentCache(documentPaths(provider)),
    auditRevocations(options.audit, provider.pathFor('revocation', { mountPath: '' })),
    clientSecretHashing(),
    clientCertificates({ header: settings.clientCertHeader, trustedProxies: settings.trustedProxies, logger }),
    ...(mtlsOrigin ? [mtlsEndpointAliases(mtlsOrigin)] : []),
    ...(!settings.mtlsEnabled && settings.clientCertHeader === undefined ? [withoutCertificateBinding()] : []),
    securityHeaders({ https: new URL(settings.issuer).protocol === 'https:' }),
    healthRoutes(options.store, options.readiness),
    staticFiles(),
    ...(options.routes ?? []),
  ];
  pinIssuerOrigin(provider as unknown as Pick<Koa, 'request'>, settings.issuer);
  for (const m of mw) provider.use(m);
  (provider as unknown as NodeJS.EventEmitter).on('error', (err: Error) => logger.error({ err: { type: err.name, message: err.message } }, 'koa error'));
  return provider;
}
