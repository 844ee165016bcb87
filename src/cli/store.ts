import { type Config, loadConfig } from '../config/load.ts';
import type { Store } from '../storage/adapter.ts';
import { openStore } from '../storage/open.ts';

/**
 * Runs `fn` against the configured store (the one `gatehouse serve` uses) and closes it, so an
 * administrative command works on the same data a running server sees.
 */
export async function withStore<T>(fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}
