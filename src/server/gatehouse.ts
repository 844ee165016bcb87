import { readFileSync } from 'node:fs';
import type Provider from 'oidc-provider';
import type { Config } from '../config/load.ts';
import { gatehouseFeatures } from '../features/all.ts';
import { createFeaturedProvider, featureRoutes } from '../features/compose.ts';
import { createAdminServer } from '../http/admin.ts';
import { buildApp } from '../http/app.ts';
import { instrumentStore, Metrics } from '../http/metrics.ts';
import { countAuditEvents, observeProvider } from '../http/observability.ts';
import { Audit } from '../shared/audit.ts';
import type { Readiness } from '../http/health.ts';
import { ListenerLifecycle } from '../http/lifecycle.ts';
import { createPublicServer, listen } from '../http/listeners.ts';
import { registrationGuard } from '../http/registration_guard.ts';
import { endpointRateLimits } from '../http/endpoint_limits.ts';
import { createMtlsListener, loadMtlsMaterial, type MtlsListener } from '../http/mtls_listener.ts';
import { certsDirEmpty, initDevPki } from '../pki/dev_pki.ts';
import { ClientCaTrust, trustSnapshotFromPem } from '../pki/trust.ts';
import { ProviderHotSwap } from '../provider/hot_swap.ts';
import { loadKeys, type KeyMaterial } from '../keys/key_material.ts';
import { loadResourceServers } from '../provider/resource_servers.ts';
import { cacheClients } from '../clients/client_cache.ts';
import { loadStaticClients, validateStaticClients } from '../clients/static_clients.ts';
import { ConfigError } from '../shared/errors.ts';
import { SignIn } from '../accounts/sign_in.ts';
import { brandingStylesheet } from '../interactions/branding.ts';
import { interactionRoutes } from '../interactions/routes.ts';
import { callbackPath } from '../interactions/upstream_routes.ts';
import { UpstreamClient } from '../accounts/upstream_client.ts';
import { LdapConnector } from '../accounts/ldap/ldap_connector.ts';
import { checkDirectorySchema } from '../accounts/ldap/schema_check.ts';
import { AccountRecheck } from '../accounts/source_recheck.ts';
import { Sealer } from '../shared/seal.ts';
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
 * Composition root: keys, store, features, provider, app, listeners. The only place that wires
 * modules together; it reads no environment itself (config/ did that). Each module gets the
 * narrow slice of settings it needs.
 */
export async function startGatehouse(config: Config, logger: Logger, options: StartOptions = {}): Promise<Gatehouse> {
  for (const warning of config.warnings) logger.warn({ event: 'insecure_setting' }, warning);

  const keys = await loadKeys({ dataDir: config.dataDir, jwksFile: config.jwksFile, cookieKeys: config.cookieKeys });
  for (const path of keys.generated) logger.warn({ event: 'key_generated', path }, `generated development key material at ${path}`);

  const staticClients = loadStaticClients(config.clientsFile);
  const resourceServers = loadResourceServers(config.resourceServersFile);
  const { trust, material } = await loadClientCertificateTrust(config, logger);
  const audit = new Audit(logger);
  const metrics = new Metrics();
  countAuditEvents(audit, metrics);
  // Stored clients are read on every request that names one: kept per replica for the documented bound.
  const store = cacheClients(instrumentStore(await openStore({ ...config, logger }), metrics), { ttlSeconds: config.clientCacheTtl });
  setPageBase({ productName: config.productName, logoUrl: config.logoUrl, accentColor: config.accentColour });

  const features = gatehouseFeatures(config, { store, audit, metrics, now: options.now });
  const signIn = new SignIn(store, {
    failuresPerAccount: config.loginFailuresPerAccount,
    failuresPerIp: config.loginFailuresPerIp,
    windowSeconds: config.loginThrottleWindow,
  });
  // Discovery runs in the background: an upstream that is down at start only disables its button's target.
  const upstream = config.connectors.map((c) => new UpstreamClient(c, `${config.issuer}${callbackPath(c.id)}`, logger, store));
  for (const client of upstream) client.warmUp();
  // Company directories check the password form; they are asked again when a refresh token is used.
  const directories = config.ldapConnectors.map((c) => new LdapConnector(c, store));
  // In the background: attribute names the directory's schema lacks make every password look wrong.
  for (const d of directories) void checkDirectorySchema(d.directory, logger);
  // Offboarding: at a refresh, accounts from connectors are asked about again (accounts/source_recheck.ts).
  const recheck = new AccountRecheck(store, [...upstream, ...directories], {
    sealer: new Sealer(keys.cookieKeys, 'connector state'),
    onUnreachable: config.upstreamRecheckUnreachable,
    stateTtl: config.refreshTokenTtl,
    logger,
    audit,
  });
  const readiness: Readiness = { accepting: true };
  const rateLimits = endpointRateLimits({
    store,
    logger,
    metrics,
    limits: {
      tokenPerIp: config.tokenRateLimitIp,
      tokenPerClient: config.tokenRateLimitClient,
      devicePerIp: config.deviceRateLimitIp,
      devicePerClient: config.deviceRateLimitClient,
      windowSeconds: config.rateLimitWindow,
    },
  });
  const routes = [
    registrationGuard({ store, logger, metrics, policy: config.registration, rateLimit: config.registrationRateLimit, rateWindowSeconds: config.registrationRateWindow }),
    rateLimits.middleware,
    brandingStylesheet(config.accentColour),
  ];
  const build = (jwks: KeyMaterial['jwks']) => {
    const p = createFeaturedProvider({ config, store, keys: { ...keys, jwks }, logger, staticClients, trust, resourceServers, recheck }, features);
    buildApp({
      provider: p,
      store,
      logger,
      audit,
      metrics,
      readiness,
      issuer: config.issuer,
      trustProxy: config.trustProxy,
      trustedProxies: config.trustedProxies,
      clientCertHeader: config.clientCertHeader,
      mtlsOrigin: config.mtlsEnabled ? config.mtlsOrigin : undefined,
      routes: [...routes, ...featureRoutes(p, features), ...interactionRoutes({ provider: p, store, signIn, logger, audit, consentTtl: config.consentTtl, upstream, directories, localAccounts: config.localAccounts, recheck })],
    });
    observeProvider(p, audit, metrics);
    return { provider: p, handle: p.callback() };
  };
  let swap: ProviderHotSwap | undefined;
  try {
    swap = new ProviderHotSwap({ jwksPath: keys.jwksPath, build, audit, logger });
    await validateStaticClients(swap.provider, staticClients);
  } catch (err) {
    swap?.stop();
    await rateLimits.close();
    await store.close();
    throw err;
  }

  const lifecycle = new ListenerLifecycle({ drainDelay: config.shutdownDrainDelay, shutdownTimeout: config.shutdownTimeout, readiness, logger });
  const handle = lifecycle.handler(swap.handle);
  const publicServer = createPublicServer(handle);
  lifecycle.add(publicServer);
  let mtls: MtlsListener | undefined;
  let publicPort: number;
  let adminPort: number | undefined;
  let mtlsPort: number | undefined;
  try {
    publicPort = await listen(publicServer, config.host, config.port, 'GATEHOUSE_PORT');
    if (material) {
      mtls = createMtlsListener(handle, { files: config.mtlsFiles, material, trust, logger, reloadSeconds: config.mtlsReloadInterval });
      lifecycle.add(mtls.server);
      mtlsPort = await listen(mtls.server, config.host, config.mtlsPort, 'GATEHOUSE_MTLS_PORT');
    }
    if (config.metricsEnabled) {
      const adminServer = createAdminServer(metrics, config.metricsToken);
      lifecycle.add(adminServer);
      adminPort = await listen(adminServer, config.adminHost, config.adminPort, 'GATEHOUSE_ADMIN_PORT');
    }
  } catch (err) {
    // A listener that could not bind must not leave the others (or the store) open.
    swap.stop();
    mtls?.stopWatching();
    await lifecycle.abort();
    await rateLimits.close();
    await store.close();
    throw err;
  }
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const publicUrl = `http://${hostForUrl}:${publicPort}`;
  // The development server certificate names localhost, so that is the name a client can verify.
  const mtlsUrl = mtlsPort === undefined ? undefined : `https://localhost:${mtlsPort}`;
  logger.info(
    { event: 'listening', issuer: config.issuer, url: publicUrl, mtlsUrl, store: store.kind, mode: config.mode },
    `Gatehouse listening on ${publicUrl}${mtlsUrl ? ` and ${mtlsUrl} (mutual TLS)` : ''} (issuer ${config.issuer})`,
  );

  let closing: Promise<void> | undefined;
  return {
    config,
    get provider() {
      return swap.provider;
    },
    store,
    logger,
    readiness,
    ports: { public: publicPort, ...(mtlsPort === undefined ? {} : { mtls: mtlsPort }), admin: adminPort },
    audit,
    metrics,
    publicUrl,
    mtlsUrl,
    close() {
      closing ??= (async () => {
        lifecycle.stopAccepting();
        swap.stop();
        mtls?.stopWatching();
        await lifecycle.drain();
        await rateLimits.close();
    await store.close();
        logger.info({ event: 'stopped' }, 'Gatehouse stopped');
      })();
      return closing;
    },
  };
}

/**
 * The CAs trusted for client certificates and, when the mTLS listener runs, its files. In
 * development an empty certs dir gets a generated development PKI; production never generates.
 */
async function loadClientCertificateTrust(config: Config, logger: Logger): Promise<{ trust: ClientCaTrust; material?: ReturnType<typeof loadMtlsMaterial> }> {
  if (config.mtlsEnabled) {
    if (config.mode === 'development' && config.mtlsFilesDefault && certsDirEmpty(config.certsDir)) {
      const written = await initDevPki(config.certsDir);
      logger.warn({ event: 'dev_pki_generated', files: written }, `generated a development CA and a localhost server certificate in ${config.certsDir} — acceptable only in development`);
    }
    const material = loadMtlsMaterial(config.mtlsFiles);
    return { trust: new ClientCaTrust(material.trust), material };
  }
  if (!config.clientCertHeader) return { trust: new ClientCaTrust() };
  try {
    return { trust: new ClientCaTrust(trustSnapshotFromPem(readFileSync(config.mtlsFiles.ca, 'utf8'), config.mtlsFiles.ca)) };
  } catch (err) {
    throw new ConfigError([`GATEHOUSE_MTLS_CA_FILE: needed to verify certificates from GATEHOUSE_CLIENT_CERT_HEADER (${(err as Error).message})`]);
  }
}
