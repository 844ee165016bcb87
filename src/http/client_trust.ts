import { readFileSync } from 'node:fs';
import type { Config } from '../config/load.ts';
import { certsDirEmpty, initDevPki } from '../pki/dev_pki.ts';
import { ClientCaTrust, trustSnapshotFromPem } from '../pki/trust.ts';
import { ConfigError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { loadMtlsMaterial, type MtlsMaterial } from './mtls_listener.ts';

/** The settings that say where client certificates come from and which CAs issue them. */
export type ClientTrustSettings = Pick<Config, 'mode' | 'mtlsEnabled' | 'mtlsFiles' | 'mtlsFilesDefault' | 'certsDir' | 'clientCertHeader'>;

/** The CAs trusted for client certificates now, and the mTLS listener's files when it runs. */
export interface ClientCertificateTrust {
  /** Read by client authentication (src/provider/parts/mtls.ts); the mTLS listener swaps it on reload. */
  trust: ClientCaTrust;
  /** Present exactly when the mTLS listener is to run (GATEHOUSE_MTLS_ENABLED). */
  material?: MtlsMaterial;
}

/**
 * Loads the client-certificate trust at start. With the mTLS listener: its files (in development
 * an empty certs dir first gets a generated development CA and localhost certificate; production
 * never generates). Without it but behind a proxy forwarding certificates
 * (GATEHOUSE_CLIENT_CERT_HEADER): the CA file alone. Otherwise nothing is trusted.
 * @throws ConfigError naming the setting whose file cannot be used
 */
export async function loadClientCertificateTrust(settings: ClientTrustSettings, logger: Logger): Promise<ClientCertificateTrust> {
  if (settings.mtlsEnabled) {
    if (settings.mode === 'development' && settings.mtlsFilesDefault && certsDirEmpty(settings.certsDir)) {
      const written = await initDevPki(settings.certsDir);
      logger.warn({ event: 'dev_pki_generated', files: written }, `generated a development CA and a localhost server certificate in ${settings.certsDir} — acceptable only in development`);
    }
    const material = loadMtlsMaterial(settings.mtlsFiles);
    return { trust: new ClientCaTrust(material.trust), material };
  }
  if (!settings.clientCertHeader) return { trust: new ClientCaTrust() };
  try {
    return { trust: new ClientCaTrust(trustSnapshotFromPem(readFileSync(settings.mtlsFiles.ca, 'utf8'), settings.mtlsFiles.ca)) };
  } catch (err) {
    throw new ConfigError([`GATEHOUSE_MTLS_CA_FILE: needed to verify certificates from GATEHOUSE_CLIENT_CERT_HEADER (${(err as Error).message})`]);
  }
}
