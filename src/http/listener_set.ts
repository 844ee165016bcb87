import type { RequestListener } from 'node:http';
import type { Config } from '../config/load.ts';
import type { Logger } from '../shared/logger.ts';
import { createAdminServer } from './admin.ts';
import type { ClientCertificateTrust } from './client_trust.ts';
import type { ListenerLifecycle } from './lifecycle.ts';
import { createPublicServer, listen } from './listeners.ts';
import type { Metrics } from './metrics.ts';
import { createMtlsListener } from './mtls_listener.ts';

/** Where the listeners bind (GATEHOUSE_HOST, _PORT, _MTLS_*, _ADMIN_*, _METRICS_*). */
export type ListenerSettings = Pick<Config, 'host' | 'port' | 'mtlsPort' | 'mtlsFiles' | 'mtlsReloadInterval' | 'adminHost' | 'adminPort' | 'metricsEnabled' | 'metricsToken'>;

export interface ListenerServices {
  /** Every listener is added to it, so shutdown drains them and a failed bind closes them all. */
  lifecycle: ListenerLifecycle;
  /** Served on the admin listener. */
  metrics: Metrics;
  /** The mTLS listener runs when `material` is present and swaps `trust` when its CA file changes. */
  clientTrust: ClientCertificateTrust;
  logger: Logger;
}

/** The listeners as bound. */
export interface OpenListeners {
  /** Actual ports (differ from the settings when they said 0). */
  ports: { public: number; mtls?: number; admin?: number };
  /** Base URL of the public listener as bound. */
  publicUrl: string;
  /** Base URL of the mTLS listener (https://localhost:port), when it runs. */
  mtlsUrl?: string;
}

/**
 * Binds the public listener, the mTLS listener (RFC 8705) when its files were loaded, and the
 * admin listener when metrics are on, all serving `handle`. Each is registered with the lifecycle
 * before it listens; the mTLS file watcher stops when shutdown begins.
 * @throws the bind error (EADDRINUSE…) with `setting` naming the port's variable; the caller's
 *   `lifecycle.abort()` closes what did bind
 */
export async function openListeners(handle: RequestListener, settings: ListenerSettings, services: ListenerServices): Promise<OpenListeners> {
  const { lifecycle, clientTrust, logger } = services;
  const publicServer = createPublicServer(handle);
  lifecycle.add(publicServer);
  const publicPort = await listen(publicServer, settings.host, settings.port, 'GATEHOUSE_PORT');
  let mtlsPort: number | undefined;
  if (clientTrust.material) {
    const mtls = createMtlsListener(handle, { files: settings.mtlsFiles, material: clientTrust.material, trust: clientTrust.trust, logger, reloadSeconds: settings.mtlsReloadInterval });
    lifecycle.add(mtls.server);
    lifecycle.onStop(mtls.stopWatching);
    mtlsPort = await listen(mtls.server, settings.host, settings.mtlsPort, 'GATEHOUSE_MTLS_PORT');
  }
  let adminPort: number | undefined;
  if (settings.metricsEnabled) {
    const adminServer = createAdminServer(services.metrics, settings.metricsToken);
    lifecycle.add(adminServer);
    adminPort = await listen(adminServer, settings.adminHost, settings.adminPort, 'GATEHOUSE_ADMIN_PORT');
  }
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host;
  return {
    ports: { public: publicPort, ...(mtlsPort === undefined ? {} : { mtls: mtlsPort }), admin: adminPort },
    publicUrl: `http://${host}:${publicPort}`,
    // The development server certificate names localhost, so that is the name a client can verify.
    mtlsUrl: mtlsPort === undefined ? undefined : `https://localhost:${mtlsPort}`,
  };
}
