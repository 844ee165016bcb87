import { ConfigError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Store } from './adapter.ts';
import { MemoryStore } from './memory/memory_store.ts';
import { SqliteStore } from './sqlite/sqlite_store.ts';

export interface OpenStoreOptions {
  store: 'sqlite' | 'mongodb' | 'memory';
  sqliteFile: string;
  mongodbUri?: string;
  /** Seconds; server selection and connect timeout of the mongodb backend. */
  mongodbTimeout?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * Opens the configured backend. The mongodb driver is only loaded when it is selected.
 *
 * A MongoDB that is down, unreachable or refuses the credentials at start does not stop
 * Gatehouse: the reason is logged, readiness stays false and requests answer 503 until the
 * database answers (orchestrators restart nothing; the replica simply becomes ready). Only a
 * malformed URI, which no waiting can fix, is a configuration error (exit status 2).
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  switch (options.store) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      // Kept in memory, exact for this process's writes and within 50 ms for other processes'
      // (SqliteStore: cachedModels): device codes, read on every poll (RFC 8628 §3.4) and changed
      // only on approval, denial and redemption, from their creation on; access tokens, read by
      // every introspection (RFC 7662 §2.1) and userinfo request with the same token, from their
      // first lookup on (oidc-provider looks a presented token up as both models: the miss is
      // kept too).
      return new SqliteStore(options.sqliteFile, { cachedModels: ['DeviceCode', 'AccessToken', 'ClientCredentials'], keptOnWrite: ['DeviceCode'] });
    case 'mongodb': {
      if (!options.mongodbUri) throw new ConfigError(['MONGODB_URI: required when GATEHOUSE_STORE is mongodb']);
      const { MongoStore } = await import('./mongodb/mongodb_store.ts');
      let store: InstanceType<typeof MongoStore>;
      try {
        store = new MongoStore({ uri: options.mongodbUri, timeoutMs: (options.mongodbTimeout ?? 5) * 1000, logger: options.logger });
      } catch (err) {
        throw new ConfigError([`MONGODB_URI: cannot be parsed (${(err as Error).message})`]);
      }
      if (!(await store.start())) {
        options.logger?.warn({ event: 'store_waiting', store: 'mongodb' }, 'starting without MongoDB: readiness stays false and requests answer 503 until it is reachable');
      }
      return store;
    }
  }
}
