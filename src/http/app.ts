import type Provider from 'oidc-provider';
import type { Middleware } from 'koa';
import type { Logger } from '../shared/logger.ts';
import type { Store } from '../storage/adapter.ts';
import type { Audit } from '../shared/audit.ts';
import { canonicalAuthorization } from './authorization.ts';
import { clientCertificates } from './certificate_source.ts';
import { clientSecretHashing } from './client_secrets.ts';
import { errorBoundary } from './errors.ts';
import type { Metrics } from './metrics.ts';
import { auditRevocations } from './observability.ts';
import { healthRoutes, type Readiness } from './health.ts';
import { issuerOrigin } from './issuer_origin.ts';
import { mtlsEndpointAliases } from './mtls_aliases.ts';
import { forwardedHeaderPolicy } from './proxy.ts';
import { requestLogging } from './request_context.ts';
import { canonicalRoutePaths } from './route_paths.ts';
import { securityHeaders } from './security_headers.ts';
import { staticFiles } from './static_files.ts';

export interface AppOptions {
  provider: Provider;
  store: Store;
  logger: Logger;
  readiness: Readiness;
  audit: Audit;
  metrics: Metrics;
  issuer: string;
  trustProxy: boolean;
  trustedProxies: string[];
  /** Header a trusted proxy forwards the client certificate in (opt-in). */
  clientCertHeader?: string;
  /** Origin of the mTLS listener, advertised as `mtls_endpoint_aliases` when set. */
  mtlsOrigin?: string;
  /** Feature routes (interactions, admin) mounted before oidc-provider's own. */
  routes?: Middleware[];
}

/**
 * Puts our middleware in front of oidc-provider's router (Provider is a koa app and `use`
 * inserts before its own routes), so one app serves both listeners.
 */
export function buildApp(options: AppOptions): Provider {
  const { provider, logger } = options;
  const mw: Middleware[] = [
    canonicalRoutePaths(provider),
    canonicalAuthorization(),
    forwardedHeaderPolicy({ trustProxy: options.trustProxy, trustedProxies: options.trustedProxies, logger }),
    issuerOrigin(options.issuer),
    requestLogging(logger),
    options.metrics.middleware(),
    errorBoundary(logger),
    auditRevocations(options.audit, provider.pathFor('revocation', { mountPath: '' })),
    clientSecretHashing(),
    clientCertificates({ header: options.clientCertHeader, trustedProxies: options.trustedProxies, logger }),
    ...(options.mtlsOrigin ? [mtlsEndpointAliases(options.mtlsOrigin)] : []),
    securityHeaders({ https: new URL(options.issuer).protocol === 'https:' }),
    healthRoutes(options.store, options.readiness),
    staticFiles(),
    ...(options.routes ?? []),
  ];
  for (const m of mw) provider.use(m);
  (provider as unknown as NodeJS.EventEmitter).on('error', (err: Error) => logger.error({ err: { type: err.name, message: err.message } }, 'koa error'));
  return provider;
}
