import type { Server } from 'node:http';
import type Provider from 'oidc-provider';
import type { Config } from './config/load.ts';
import { buildApp } from './http/app.ts';
import type { Readiness } from './http/health.ts';
import { createPublicServer, drain, listen } from './http/listeners.ts';
import { loadKeys } from './provider/keys.ts';
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
  ports: { public: number };
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
  const store = await openStore(config);
  setPageBase({ productName: 'Gatehouse' });

  const provider = createProvider({ config, store, keys, logger, staticClients });
  const readiness: Readiness = { accepting: true };
  buildApp({ provider, store, logger, readiness, issuer: config.issuer, trustProxy: config.trustProxy, trustedProxies: config.trustedProxies });

  const servers: Server[] = [];
  const publicServer = createPublicServer(provider.callback());
  servers.push(publicServer);
  let publicPort: number;
  try {
    publicPort = await listen(publicServer, config.host, config.port);
  } catch (err) {
    await store.close();
    throw err;
  }
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const publicUrl = `http://${hostForUrl}:${publicPort}`;
  logger.info({ event: 'listening', issuer: config.issuer, url: publicUrl, store: store.kind, mode: config.mode }, `Gatehouse listening on ${publicUrl} (issuer ${config.issuer})`);

  let closing: Promise<void> | undefined;
  return {
    config,
    provider,
    store,
    logger,
    readiness,
    ports: { public: publicPort },
    publicUrl,
    close() {
      closing ??= (async () => {
        readiness.accepting = false;
        await drain(servers, config.shutdownTimeout * 1000);
        await store.close();
        logger.info({ event: 'stopped' }, 'Gatehouse stopped');
      })();
      return closing;
    },
  };
}
