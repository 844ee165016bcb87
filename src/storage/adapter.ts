import type { Payload } from '../shared/types.ts';

/**
 * The storage contract. Every backend (memory, sqlite, mongodb) implements it and passes the
 * conformance suite in `test/storage/`. Records live in named models (oidc-provider's model names
 * such as `AuthorizationCode`, `DeviceCode`, `Session`, `Client`, plus our own such as `Account`).
 *
 * Rules every backend keeps:
 * - an expired record is never returned, whatever the cleanup schedule;
 * - `consume` is one conditional write: of concurrent calls exactly one returns true;
 * - `exchange` is one atomic read-and-write: concurrent calls on a record are serialised;
 * - `revokeByGrantId` removes records of every model carrying that grant id.
 */
export interface Store {
  /** Backend name for logs and health output. */
  readonly kind: string;
  /**
   * True when every query is a network round trip, so one `findInModels` beats several `find`s:
   * oidc-provider's same-tick token lookups are then coalesced (provider/adapter_bridge.ts). On
   * SQLite, measured, the coalescing cost more than the statement it saved (bench/README.md).
   */
  readonly coalesceReads?: boolean;

  /** Inserts or replaces. `expiresIn` in seconds; omitted means no expiry. */
  upsert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<void>;
  /** Inserts only when no live record has that id. Returns false when one does. */
  insert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<boolean>;
  /** The live record, with `consumed` (epoch seconds) set when it was consumed. */
  find(model: string, id: string): Promise<Payload | undefined>;
  /**
   * The live records of one `id` under each of `models` (as `find` gives them), in one query: a
   * presented token is looked up as an `AccessToken` and a `ClientCredentials` token at once by
   * introspection and revocation (RFC 7662 §2.1, RFC 7009 §2.1). Models with no live record are
   * absent from the map.
   */
  findInModels(models: readonly string[], id: string): Promise<Map<string, Payload>>;
  /** @see RFC 8628 §3.3: device codes are looked up by the user code a person types. */
  findByUserCode(model: string, userCode: string): Promise<Payload | undefined>;
  /** Sessions are looked up by their cookie uid. */
  findByUid(model: string, uid: string): Promise<Payload | undefined>;
  /**
   * Sets top-level `fields` of a live record's payload and returns the payload as it was just
   * before (with `consumed` as `find` gives it), in one atomic step: of concurrent calls on one
   * record each returns what the one before it wrote, none is lost. No live record: nothing is
   * written, undefined. Expiry and consumption are kept. `fields` are JSON values under plain
   * names (letters, digits, `_`), not the fields the store indexes (`grantId`, `userCode`,
   * `uid`): anything else is a TypeError. Used for a
   * device code's poll pace, decided from the previous poll's time in one store call.
   * @see RFC 8628 §3.5
   */
  exchange(model: string, id: string, fields: Payload): Promise<Payload | undefined>;
  /** Marks a live, unconsumed record consumed. True for the one caller that did it. */
  consume(model: string, id: string): Promise<boolean>;
  destroy(model: string, id: string): Promise<void>;
  /** Removes every record, of any model, issued under that grant. */
  revokeByGrantId(grantId: string): Promise<void>;
  /** Live records of a model, ordered by id, at most `limit`. */
  list(model: string, options?: { limit?: number }): Promise<Array<{ id: string; payload: Payload }>>;
  /**
   * Atomically counts events in a fixed window: starts at `by` (default 1) when the key is new or
   * its window has ended — or ends later than a window started now would (the clock was set back,
   * or the window shortened) — otherwise adds `by`. Used for counters shared by every replica (security
   * throttles one event at a time, per-replica rate limits in flushed batches).
   */
  increment(key: string, windowSeconds: number, by?: number): Promise<{ count: number; resetAt: number }>;
  /**
   * A number that changes whenever another process has committed to the store since the last
   * call (SQLite's `data_version`: e.g. `gatehouse clients` on the same file). Synchronous and
   * cheap; backends that cannot tell leave it out, and caches then rely on their TTL alone.
   */
  externalVersion?(): number;
  /** Writes and deletes a short-lived record; throws StoreUnavailableError when the store cannot. */
  ping(): Promise<void>;
  /** Deletes expired records. Backends also run it periodically on their own. */
  purgeExpired(): Promise<number>;
  close(): Promise<void>;
}

/** Payload fields the store indexes. */
export function indexFields(payload: Payload): { grantId?: string; userCode?: string; uid?: string } {
  const pick = (k: string) => (typeof payload[k] === 'string' ? (payload[k] as string) : undefined);
  return { grantId: pick('grantId'), userCode: pick('userCode'), uid: pick('uid') };
}

/** Refuses `exchange` fields the store indexes (they would leave the index stale). */
export function exchangeableFields(fields: Payload): Payload {
  for (const name of Object.keys(fields)) {
    if (name === 'grantId' || name === 'userCode' || name === 'uid') throw new TypeError(`exchange cannot set the indexed field ${name}`);
    // Plain names only: MongoDB reads dots and a leading `$` as paths and operators.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`exchange field name ${JSON.stringify(name)} is not a plain name`);
  }
  return fields;
}

/** Absolute expiry in epoch milliseconds for `expiresIn` seconds from now. */
export function expiresAt(expiresIn: number | undefined, now = Date.now()): number | undefined {
  return typeof expiresIn === 'number' && Number.isFinite(expiresIn) ? now + expiresIn * 1000 : undefined;
}

/**
 * Ids of "no such record" answers a cache keeps at most this long (the SQLite read cache, the
 * client cache): a lookup of an id nobody could have issued (any text a client sends as a token or
 * client_id) is not worth memory, and a long one would cost a lot of it. The server's own ids
 * (tokens, device codes, registered client ids) are 43 characters.
 */
export const MAX_KEPT_ABSENT_ID = 128;

/** How often backends purge expired rows on their own. */
export const PURGE_INTERVAL_MS = 60_000;

/**
 * `store.externalVersion`, asked at most every `maxAgeMs` (ms) by the clock `now` (epoch ms): on
 * SQLite a `PRAGMA data_version` costs 10–25 µs on a cold CPU cache, too much per request, so
 * callers on the request path (the client cache, device-code paces, the SQLite read cache) read it
 * through this and see another process's commit within `maxAgeMs`. A clock that went back asks
 * again. The first call always asks.
 * @returns a reader answering the version, or undefined when the store cannot tell
 */
export function externalVersionReader(store: Pick<Store, 'externalVersion'>, maxAgeMs: number, now: () => number = Date.now): () => number | undefined {
  if (!store.externalVersion) return () => undefined;
  const ask = store.externalVersion.bind(store);
  let version: number | undefined;
  let askedAt = 0;
  return () => {
    const at = now();
    if (version === undefined || at - askedAt >= maxAgeMs || at < askedAt) {
      version = ask();
      askedAt = at;
    }
    return version;
  };
}
