import type { Payload } from '../shared/types.ts';
import { externalVersionReader, MAX_KEPT_ABSENT_ID, type Store } from '../storage/adapter.ts';
import { CLIENT_MODEL } from './client_admin.ts';

export interface ClientCacheOptions {
  /** Seconds a looked-up client (or its absence) is kept; 0 turns the cache off. */
  ttlSeconds: number;
  /** Clients kept at most; the oldest entry goes first (default 10,000). */
  maxEntries?: number;
  /** Clock in epoch ms (tests). */
  now?: () => number;
}

/** How often a store that reports other processes' commits is asked (ms): the bound for those changes. */
export const EXTERNAL_CHECK_MS = 50;

interface Entry {
  /** The metadata, deep-frozen and shared by every reader; undefined for an absent client. */
  value: Payload | undefined;
  expires: number;
}

/** Freezes an object and everything in it (plain JSON data: objects and arrays). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The store, with reads of stored client metadata (oidc-provider's `Client.find` path, the model
 * `Client`) kept per replica for `ttlSeconds`. A write or delete of a client through this store
 * (RFC 7592 update and delete, registration) drops its entry at once, and a read that was in
 * flight during it is not kept; a change made elsewhere (another replica, `gatehouse clients`)
 * shows here within `ttlSeconds` — within EXTERNAL_CHECK_MS on a store that reports other
 * processes' commits (`externalVersion`: SQLite, where `gatehouse clients` writes the same file).
 * Absent clients are remembered too (ids of at most MAX_KEPT_ABSENT_ID characters), so unknown
 * client_ids do not each cost a store read. The cache keeps whatever metadata the store returns
 * (hashed secrets included), deep-frozen: every reader gets that same object (no copy per lookup; oidc-provider
 * only hashes it, or builds a new client from it), and a reader that wants a changed record
 * spreads it into a new one. Concurrent misses for one client share one store read.
 */
export function cacheClients(store: Store, options: ClientCacheOptions): Store {
  if (options.ttlSeconds <= 0) return store;
  const ttl = options.ttlSeconds * 1000;
  const max = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Payload | undefined>>();
  // Bumped by every client change through this store, so a read that started before one is not
  // kept (client changes are rare; one counter for all keeps this bounded).
  let generation = 0;

  const invalidate = (id: string) => {
    entries.delete(id);
    inFlight.delete(id);
    generation += 1;
  };
  const externalVersion = externalVersionReader(store, EXTERNAL_CHECK_MS, now);
  let seenVersion = externalVersion();
  const read = (id: string): Promise<Payload | undefined> => {
    const version = externalVersion();
    if (version !== seenVersion) {
      seenVersion = version;
      entries.clear();
      inFlight.clear();
      generation += 1;
    }
    const hit = entries.get(id);
    if (hit && hit.expires > now()) return Promise.resolve(hit.value);
    const pending = inFlight.get(id);
    if (pending) return pending;
    const gen = generation;
    const lookup = store.find(CLIENT_MODEL, id).then(
      (payload) => {
        if (inFlight.get(id) === lookup) inFlight.delete(id);
        const value = deepFreeze(payload);
        // An unknown client_id is kept only when short: any text a request sends is looked up.
        if (generation === gen && (value !== undefined || id.length <= MAX_KEPT_ABSENT_ID)) {
          entries.delete(id);
          if (entries.size >= max) entries.delete(entries.keys().next().value!);
          entries.set(id, { value, expires: now() + ttl });
        }
        return value;
      },
      (err: unknown) => {
        if (inFlight.get(id) === lookup) inFlight.delete(id);
        throw err;
      },
    );
    inFlight.set(id, lookup);
    return lookup;
  };

  return new Proxy(store, {
    get(target, prop, receiver) {
      switch (prop) {
        case 'find':
          return (model: string, id: string) => (model === CLIENT_MODEL ? read(id) : target.find(model, id));
        case 'upsert':
        case 'insert':
        case 'destroy':
          return async (model: string, id: string, ...rest: unknown[]) => {
            if (model === CLIENT_MODEL) invalidate(id);
            try {
              return await (target[prop] as (...a: unknown[]) => Promise<unknown>).call(target, model, id, ...rest);
            } finally {
              if (model === CLIENT_MODEL) invalidate(id);
            }
          };
        default: {
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
      }
    },
  });
}
