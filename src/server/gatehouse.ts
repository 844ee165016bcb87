import type Provider from 'oidc-provider';
import { cacheClients } from '../clients/client_cache.ts';
import { loadStaticClients, shadowedStoredClients, validateStaticClients } from '../clients/static_clients.ts';
import type { Config } from '../config/load.ts';
import { gatehouseFeatures } from '../features/all.ts';
import { createFeaturedProvider, featureRoutes } from '../features/compose.ts';
import { buildApp } from '../http/app.ts';
import { loadClientCertificateTrust, type ClientCertificateTrust } from '../http/client_trust.ts';
import { endpointRateLimits } from '../http/endpoint_limits.ts';
import type { Readiness } from '../http/health.ts';
import { ListenerLifecycle } from '../http/lifecycle.ts';
import { openListeners } from '../http/listener_set.ts';
import { instrumentStore, Metrics } from '../http/metrics.ts';
import { countAuditEvents, observeProvider } from '../http/observability.ts';
import { registrationGuard } from '../http/registration_guard.ts';
import { brandingStylesheet } from '../interactions/branding.ts';
import { interactionRoutes } from '../interactions/routes.ts';
import { signInSources } from '../interactions/sign_in_sources.ts';
import { loadKeys, type KeyMaterial } from '../keys/key_material.ts';
import { ProviderHotSwap } from '../provider/hot_swap.ts';
import { checkResourceServerKeys, loadResourceServers } from '../provider/resource_servers.ts';
import { Audit } from '../shared/audit.ts';
import type { Logger } from '../shared/logger.ts';
import { setPageBase } from '../shared/views.ts';
import type { Store } from '../storage/adapter.ts';
import { openStore } from '../storage/open.ts';

/** A running Gatehouse: what tests and the CLI need to talk to it and stop it. */
export interface Gatehouse {
  config: Config;
  provider: Provider;
  store: Store;
  logger: Logger;
  readiness: Readiness;
  /** Actual bound ports (differ from config when it said 0). */
  ports: { public: number; mtls?: number; admin?: number };
  audit: Audit;
  metrics: Metrics;
  /** Base URL of the public listener as bound (tests use it; clients use the issuer). */
  publicUrl: string;
  /** Base URL of the mTLS listener as bound (https://localhost:port), when it runs. */
  mtlsUrl?: string;
  /**
   * Readiness false, keep serving for the drain delay, stop accepting, let in-flight requests
   * finish within the shutdown timeout, close the store. Idempotent.
   */
  close(): Promise<void>;
}

/** What a test may inject into a server; production passes nothing. */
export interface StartOptions {
  /** Current time in epoch milliseconds for the features' pacing and expiry (default `Date.now`). */
  now?: () => number;
}

/**
 * Composition root: services, then the provider with its features and app, then the listeners.
 * The only place that wires modules together; it reads no environment itself (config/ did that)
 * and maps no setting by hand: each module takes the narrow `Pick<Config, …>` it documents. A
 * start that fails half-way closes what it opened (the lifecycle's abort) and throws.
 */
export async function startGatehouse(config: Config, logger: Logger, options: StartOptions = {}): Promise<Gatehouse> {
  for (const warning of config.warnings) logger.warn({ event: 'insecure_setting' }, warning);
  const lifecycle = new ListenerLifecycle(config, logger);
  try {
    const services = await openServices(config, logger, lifecycle);
    const swap = await serveProvider(config, services, { lifecycle, logger, now: options.now });
    const listening = await openListeners(lifecycle.handler(swap.handle), config, { lifecycle, metrics: services.metrics, clientTrust: services.clientTrust, logger });
    const { publicUrl, mtlsUrl } = listening;
    logger.info(
      { event: 'listening', issuer: config.issuer, url: publicUrl, mtlsUrl, store: services.store.kind, mode: config.mode },
      `Gatehouse listening on ${publicUrl}${mtlsUrl ? ` and ${mtlsUrl} (mutual TLS)` : ''} (issuer ${config.issuer})`,
    );
    const { store, audit, metrics } = services;
    return {
      config,
      get provider() {
        return swap.provider;
      },
      store,
      logger,
      readiness: lifecycle.readiness,
      ...listening,
      audit,
      metrics,
      close: () => lifecycle.close(),
    };
  } catch (err) {
    await lifecycle.abort();
    throw err;
  }
}

/** What every part of one server shares, built once per start. */
interface Services {
  keys: KeyMaterial;
  store: Store;
  audit: Audit;
  metrics: Metrics;
  clientTrust: ClientCertificateTrust;
  staticClients: ReturnType<typeof loadStaticClients>;
  resourceServers: ReturnType<typeof loadResourceServers>;
}

/** Keys, files, client-certificate trust, audit and metrics, then the store (closed last on shutdown). */
async function openServices(config: Config, logger: Logger, lifecycle: ListenerLifecycle): Promise<Services> {
  const keys = await loadKeys(config);
  for (const path of keys.generated) logger.warn({ event: 'key_generated', path }, `generated development key material at ${path}`);
  const staticClients = loadStaticClients(config.clientsFile);
  const resourceServers = loadResourceServers(config.resourceServersFile);
  const clientTrust = await loadClientCertificateTrust(config, logger);
  const audit = new Audit(logger);
  const metrics = new Metrics();
  countAuditEvents(audit, metrics);
  // Stored clients are read on every request that names one: kept per replica for the documented bound.
  const store = cacheClients(instrumentStore(await openStore({ ...config, logger }), metrics), { ttlSeconds: config.clientCacheTtl });
  lifecycle.defer(() => store.close());
  setPageBase({ productName: config.productName, logoUrl: config.logoUrl, accentColor: config.accentColour });
  return { keys, store, audit, metrics, clientTrust, staticClients, resourceServers };
}

/**
 * The features, the ways in, the guards, and a provider with its app built from them for the
 * current signing keys, rebuilt and swapped in on every key rotation.
 * @throws ConfigError for a configuration or static client the provider refuses
 */
async function serveProvider(config: Config, services: Services, run: StartOptions & { lifecycle: ListenerLifecycle; logger: Logger }): Promise<ProviderHotSwap> {
  const { keys, store, audit, metrics, clientTrust, staticClients, resourceServers } = services;
  const { lifecycle, logger } = run;
  const features = gatehouseFeatures(config, { store, audit, metrics, now: run.now });
  for (const feature of features) if (feature.close) lifecycle.defer(() => feature.close!());
  const sources = signInSources(config, { store, logger, audit, cookieKeys: keys.cookieKeys });
  const rateLimits = endpointRateLimits(config, { store, logger, metrics });
  lifecycle.defer(rateLimits.close);
  const guards = [registrationGuard(config, { store, logger, metrics }), rateLimits.middleware, brandingStylesheet(config.accentColour)];
  const build = (jwks: KeyMaterial['jwks']) => {
    const provider = createFeaturedProvider({ config, store, keys: { ...keys, jwks }, logger, staticClients, trust: clientTrust.trust, resourceServers, recheck: sources.recheck }, features);
    const routes = [...guards, ...featureRoutes(provider, features), ...interactionRoutes({ provider, store, logger, audit, ...sources })];
    buildApp(config, { provider, store, logger, audit, metrics, readiness: lifecycle.readiness, routes });
    observeProvider(provider, audit, metrics);
    return { provider, handle: provider.callback() };
  };
  const checkFirst = (jwks: KeyMaterial['jwks']) => checkResourceServerKeys(resourceServers, jwks, { resourceServersFile: config.resourceServersFile, jwksPath: keys.jwksPath });
  const swap = new ProviderHotSwap({ jwksPath: keys.jwksPath, build, checkFirst, audit, logger });
  lifecycle.onStop(() => swap.stop());
  await validateStaticClients(swap.provider, staticClients);
  // Not awaited: the server starts (not ready) while the store is down, and this is only advice.
  void shadowedStoredClients(store, staticClients).then(
    (hidden) => {
      for (const id of hidden) {
        logger.warn({ event: 'client_shadowed', client_id: id }, `GATEHOUSE_CLIENTS_FILE defines client ${id}, which hides the stored client of that id (its secret no longer works); remove it with \`gatehouse clients remove ${id}\` or rename one`);
      }
    },
    (err: unknown) => logger.debug({ err: { message: (err as Error).message } }, 'could not check the clients file against stored clients'),
  );
  return swap;
}
