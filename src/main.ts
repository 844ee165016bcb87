import { readFileSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type Provider from 'oidc-provider';
import type { Config } from './config/load.ts';
import { createAdminServer } from './http/admin.ts';
import { buildApp } from './http/app.ts';
import { instrumentStore, Metrics } from './http/metrics.ts';
import { countAuditEvents, observeProvider } from './http/observability.ts';
import { Audit } from './shared/audit.ts';
import type { Readiness } from './http/health.ts';
import { createPublicServer, drain, listen } from './http/listeners.ts';
import { registrationGuard } from './http/registration_guard.ts';
import { endpointRateLimits } from './http/endpoint_limits.ts';
import { createMtlsListener, loadMtlsMaterial, type MtlsListener } from './http/mtls_listener.ts';
import { parsePemBundle } from './pki/client_certificate.ts';
import { certsDirEmpty, initDevPki } from './pki/dev_pki.ts';
import type { TrustStore } from './pki/trust_store.ts';
import { KeyRing } from './provider/keyring.ts';
import { loadKeys, type KeyMaterial } from './provider/keys.ts';
import { loadResourceServers } from './provider/resource_servers.ts';
import { createProvider } from './provider/provider.ts';
import { cacheClients } from './provider/client_cache.ts';
import { loadStaticClients, validateStaticClients } from './provider/static_clients.ts';
import { ConfigError } from './shared/errors.ts';
import { announceInterval, enforcePollingInterval } from './provider/device_polling.ts';
import { deviceFlowPart } from './provider/parts/device_flow.ts';
import { SignIn } from './accounts/sign_in.ts';
import { brandingStylesheet } from './interactions/branding.ts';
import { deviceGuard } from './interactions/device_guard.ts';
import { interactionRoutes } from './interactions/routes.ts';
import { callbackPath } from './interactions/upstream_routes.ts';
import { UpstreamClient } from './accounts/upstream_client.ts';
import { FailureThrottle } from './storage/failure_throttle.ts';
import type { Logger } from './shared/logger.ts';
import { setPageBase } from './shared/views.ts';
import type { Store } from './storage/adapter.ts';
import { openStore } from './storage/open.ts';

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

/**
 * Composition root: keys, store, provider, app, listeners. The only place that wires modules
 * together; it reads no environment itself (config/ did that).
 */
export async function startGatehouse(config: Config, logger: Logger): Promise<Gatehouse> {
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

  // Wrong device user codes, counted per client IP and for everyone together (README: brute force).
  const userCodes = new FailureThrottle(store, [
    { name: 'user_code:ip', limit: config.userCodeFailuresPerIp, windowSeconds: config.userCodeThrottleWindow },
    { name: 'user_code:global', limit: config.userCodeFailuresGlobal, windowSeconds: config.userCodeThrottleWindow },
  ]);
  const polling = { store, interval: config.devicePollInterval, deviceCodeTtl: config.deviceCodeTtl };
  const signIn = new SignIn(store, {
    failuresPerAccount: config.loginFailuresPerAccount,
    failuresPerIp: config.loginFailuresPerIp,
    windowSeconds: config.loginThrottleWindow,
  });
  // Discovery runs in the background: an upstream that is down at start only disables its button's target.
  const upstream = config.connectors.map((c) => new UpstreamClient(c, `${config.issuer}${callbackPath(c.id)}`, logger));
  for (const client of upstream) client.warmUp();
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
    announceInterval(polling),
    deviceGuard(userCodes),
  ];
  const assemble = (jwks: KeyMaterial['jwks']) => {
    const p = createProvider({ config, store, keys: { ...keys, jwks }, logger, staticClients, trust, resourceServers }, [deviceFlowPart(userCodes, audit)]);
    enforcePollingInterval(p, polling);
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
      routes: [...routes, ...interactionRoutes({ provider: p, store, signIn, logger, audit, consentTtl: config.consentTtl, upstream, localAccounts: config.localAccounts })],
    });
    observeProvider(p, audit, metrics);
    return { provider: p, handle: p.callback(), kids: jwks.keys.map((k) => k.kid ?? '') };
  };
  // oidc-provider's keystore is fixed per instance: a rotation (file changed on disk, or a key
  // reaching its activation/retirement time) builds a new instance and swaps it in between requests.
  // All state is in the store, so nothing in flight depends on the old instance.
  const keyRing = new KeyRing(
    keys.jwksPath,
    (jwks) => {
      const before = new Set(current.kids);
      current = assemble(jwks);
      const after = new Set(current.kids);
      audit.record('keys.rotated', {
        added: [...after].filter((k) => !before.has(k)),
        removed: [...before].filter((k) => !after.has(k)),
        signing: jwks.keys.filter((k) => !k.key_ops).map((k) => k.kid ?? ''),
      });
    },
    (err) => logger.error({ event: 'keys.reload_failed', err: { message: err.message } }, 'signing keys file unreadable; keeping the previous keys'),
  );
  let current = assemble(keyRing.start());
  try {
    await validateStaticClients(current.provider, staticClients);
  } catch (err) {
    keyRing.stop();
    await rateLimits.close();
    await store.close();
    throw err;
  }

  const servers: Server[] = [];
  // Once shutdown begins every response says `Connection: close`, so keep-alive clients reconnect
  // (to another replica) instead of sending into a socket that is about to close. Responses
  // already in flight when it begins are marked too, as long as their headers are not out yet.
  let shuttingDown = false;
  const inFlight = new Set<ServerResponse>();
  const handle: Parameters<typeof createPublicServer>[0] = (req, res) => {
    if (shuttingDown) {
      res.shouldKeepAlive = false;
    } else {
      inFlight.add(res);
      res.once('close', () => inFlight.delete(res));
    }
    current.handle(req, res);
  };
  const publicServer = createPublicServer(handle);
  servers.push(publicServer);
  let mtls: MtlsListener | undefined;
  let publicPort: number;
  let adminPort: number | undefined;
  let mtlsPort: number | undefined;
  try {
    publicPort = await listen(publicServer, config.host, config.port);
    if (material) {
      mtls = createMtlsListener(handle, { files: config.mtlsFiles, material, trust, logger, reloadSeconds: config.mtlsReloadInterval });
      servers.push(mtls.server);
      mtlsPort = await listen(mtls.server, config.host, config.mtlsPort);
    }
    if (config.metricsEnabled) {
      const adminServer = createAdminServer(metrics, config.metricsToken);
      servers.push(adminServer);
      adminPort = await listen(adminServer, config.adminHost, config.adminPort);
    }
  } catch (err) {
    // A listener that could not bind must not leave the others (or the store) open.
    keyRing.stop();
    mtls?.stopWatching();
    await drain(servers, 0);
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
      return current.provider;
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
        readiness.accepting = false;
        shuttingDown = true;
        for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
        inFlight.clear();
        keyRing.stop();
        mtls?.stopWatching();
        if (config.shutdownDrainDelay > 0) {
          logger.info({ event: 'shutdown.drain_delay', seconds: config.shutdownDrainDelay }, `readiness is false; serving for ${config.shutdownDrainDelay}s more so load balancers stop sending traffic`);
          await sleep(config.shutdownDrainDelay * 1000);
        }
        logger.info({ event: 'shutdown.closing', timeout: config.shutdownTimeout }, 'no longer accepting connections; waiting for in-flight requests');
        await drain(servers, config.shutdownTimeout * 1000);
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
async function loadClientCertificateTrust(config: Config, logger: Logger): Promise<{ trust: TrustStore; material?: ReturnType<typeof loadMtlsMaterial> }> {
  if (config.mtlsEnabled) {
    if (config.mode === 'development' && config.mtlsFilesDefault && certsDirEmpty(config.certsDir)) {
      const written = await initDevPki(config.certsDir);
      logger.warn({ event: 'dev_pki_generated', files: written }, `generated a development CA and a localhost server certificate in ${config.certsDir} — acceptable only in development`);
    }
    const material = loadMtlsMaterial(config.mtlsFiles);
    return { trust: { anchors: material.anchors }, material };
  }
  if (!config.clientCertHeader) return { trust: { anchors: [] } };
  try {
    return { trust: { anchors: parsePemBundle(readFileSync(config.mtlsFiles.ca, 'utf8'), config.mtlsFiles.ca) } };
  } catch (err) {
    throw new ConfigError([`GATEHOUSE_MTLS_CA_FILE: needed to verify certificates from GATEHOUSE_CLIENT_CERT_HEADER (${(err as Error).message})`]);
  }
}
