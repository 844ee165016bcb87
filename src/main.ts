import type { Server } from 'node:http';
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
import { KeyRing } from './provider/keyring.ts';
import { loadKeys, type KeyMaterial } from './provider/keys.ts';
import { createProvider } from './provider/provider.ts';
import { loadStaticClients } from './provider/static_clients.ts';
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
  ports: { public: number; admin?: number };
  audit: Audit;
  metrics: Metrics;
  /** Base URL of the public listener as bound (tests use it; clients use the issuer). */
  publicUrl: string;
  /** Readiness false, drain listeners, close the store. Idempotent. */
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
  const audit = new Audit(logger);
  const metrics = new Metrics();
  countAuditEvents(audit, metrics);
  const store = instrumentStore(await openStore(config), metrics);
  setPageBase({ productName: 'Gatehouse' });

  const readiness: Readiness = { accepting: true };
  const routes = [
    registrationGuard({ store, logger, policy: config.registration, rateLimit: config.registrationRateLimit, rateWindowSeconds: config.registrationRateWindow }),
  ];
  const assemble = (jwks: KeyMaterial['jwks']) => {
    const p = createProvider({ config, store, keys: { ...keys, jwks }, logger, staticClients });
    buildApp({ provider: p, store, logger, audit, metrics, readiness, issuer: config.issuer, trustProxy: config.trustProxy, trustedProxies: config.trustedProxies, routes });
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

  const servers: Server[] = [];
  const publicServer = createPublicServer((req, res) => current.handle(req, res));
  servers.push(publicServer);
  let publicPort: number;
  let adminPort: number | undefined;
  try {
    publicPort = await listen(publicServer, config.host, config.port);
    if (config.metricsEnabled) {
      const adminServer = createAdminServer(metrics, config.metricsToken);
      servers.push(adminServer);
      adminPort = await listen(adminServer, config.adminHost, config.adminPort);
    }
  } catch (err) {
    // A listener that could not bind must not leave the others (or the store) open.
    keyRing.stop();
    await drain(servers, 0);
    await store.close();
    throw err;
  }
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const publicUrl = `http://${hostForUrl}:${publicPort}`;
  logger.info({ event: 'listening', issuer: config.issuer, url: publicUrl, store: store.kind, mode: config.mode }, `Gatehouse listening on ${publicUrl} (issuer ${config.issuer})`);

  let closing: Promise<void> | undefined;
  return {
    config,
    get provider() {
      return current.provider;
    },
    store,
    logger,
    readiness,
    ports: { public: publicPort, admin: adminPort },
    audit,
    metrics,
    publicUrl,
    close() {
      closing ??= (async () => {
        readiness.accepting = false;
        keyRing.stop();
        await drain(servers, config.shutdownTimeout * 1000);
        await store.close();
        logger.info({ event: 'stopped' }, 'Gatehouse stopped');
      })();
      return closing;
    },
  };
}
