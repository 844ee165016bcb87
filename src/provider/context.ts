import type { ClientMetadata } from 'oidc-provider';
import type { AccountRecheck } from '../accounts/source_recheck.ts';
import type { Config } from '../config/load.ts';
import type { ClientCaTrust } from '../pki/trust.ts';
import type { Logger } from '../shared/logger.ts';
import type { Store } from '../storage/adapter.ts';
import type { KeyMaterial } from '../keys/key_material.ts';
import type { ResourceServerConfig } from './resource_servers.ts';

/**
 * The settings the provider configuration parts read: the issuer, whether forwarded headers are
 * believed, whether client certificates can arrive (GATEHOUSE_MTLS_ENABLED, _CLIENT_CERT_HEADER),
 * every lifetime (GATEHOUSE_*_TTL), dynamic registration (GATEHOUSE_REGISTRATION*) and, for its
 * messages, the resource servers file (GATEHOUSE_RESOURCE_SERVERS_FILE).
 */
export type ProviderSettings = Pick<
  Config,
  'issuer' | 'trustProxy' | 'mtlsEnabled' | 'clientCertHeader' | 'accessTokenTtl' | 'idTokenTtl' | 'deviceCodeTtl' | 'sessionTtl' | 'consentTtl' | 'refreshTokenTtl' | 'registration' | 'registrationAllowPrivateUris' | 'resourceServersFile'
>;

/** What the provider configuration parts may ask for. */
export interface ProviderContext {
  config: ProviderSettings;
  store: Store;
  keys: KeyMaterial;
  logger: Logger;
  staticClients: ClientMetadata[];
  /** APIs tokens can be requested for (RFC 8707), from GATEHOUSE_RESOURCE_SERVERS_FILE. */
  resourceServers: Map<string, ResourceServerConfig>;
  /** CAs trusted for tls_client_auth (a snapshot the mTLS listener swaps on reload); none when absent. */
  trust?: ClientCaTrust;
  /** Asks an account's source (a directory, an upstream IdP) again when a refresh token is used (offboarding); absent in the CLI. */
  recheck?: AccountRecheck;
}
