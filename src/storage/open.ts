import { ConfigError } from '../shared/errors.ts';
import type { Store } from './adapter.ts';
import { MemoryStore } from './memory/memory_store.ts';
import { SqliteStore } from './sqlite/sqlite_store.ts';

export interface OpenStoreOptions {
  store: 'sqlite' | 'mongodb' | 'memory';
  sqliteFile: string;
  mongodbUri?: string;
}

/** Opens the configured backend. The mongodb driver is only loaded when it is selected. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  switch (options.store) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return new SqliteStore(options.sqliteFile);
    case 'mongodb':
      throw new ConfigError(['GATEHOUSE_STORE: the mongodb backend is not part of this build yet; use sqlite or memory']);
  }
}
