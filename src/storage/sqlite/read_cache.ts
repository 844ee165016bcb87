import { MAX_KEPT_ABSENT_ID } from '../adapter.ts';

/** A stored row as `find` reads it: the payload as stored (JSON text) and its consumption time. */
export interface CachedRow {
  payload: string;
  consumed: number | null;
}

/** What is known of one record: its row, or `null` when `find` found no live record. */
interface Entry {
  row: CachedRow | null;
  /** Epoch ms, or null for no expiry (always null for an absent record). */
  expiresAt: number | null;
}

/**
 * An `upsert` queued and not yet committed: its row is kept once the commit succeeds, unless
 * something replaced this marker meanwhile (a later write, a read, a clear).
 */
interface PendingWrite {
  pending: true;
}

export interface ReadCacheOptions {
  /** Models whose records are kept. */
  models: readonly string[];
  /** Those of `models` whose rows are also kept when this process upserts them. */
  keptOnWrite?: readonly string[];
  /**
   * The file's `data_version` (changes when another process commits), as of a bounded time ago
   * (`externalVersionReader`): every kept record is dropped when it changes.
   */
  version: () => number | undefined;
  /** Records kept at most; the oldest goes first. Default 10,000. */
  maxRecords?: number;
}

/**
 * SqliteStore's in-memory copy of chosen models' records (its `cachedModels` option): what `find`
 * read, including "not found" (for ids of at most MAX_KEPT_ABSENT_ID characters), and for
 * `keptOnWrite` models the row an `upsert` committed. The store calls `forget` before it queues any
 * other write to a record and `clear` for writes it cannot name record by record; every record is
 * dropped when `version` changes; an expired row is never returned. So the store reads its own
 * writes at once and another process's as soon as `version` shows them.
 */
export class ReadCache {
  readonly #models: ReadonlySet<string>;
  readonly #keptOnWrite: ReadonlySet<string>;
  readonly #version: () => number | undefined;
  readonly #maxRecords: number;
  #entries = new Map<string, Entry | PendingWrite>();
  #seenVersion: number | undefined;

  constructor(options: ReadCacheOptions) {
    this.#models = new Set(options.models);
    this.#keptOnWrite = new Set((options.keptOnWrite ?? []).filter((model) => this.#models.has(model)));
    this.#version = options.version;
    this.#maxRecords = options.maxRecords ?? 10_000;
  }

  /** Whether `model`'s records are kept at all. */
  covers(model: string): boolean {
    return this.#models.has(model);
  }

  /**
   * What is kept of a record, if still good: `{ row }` (null: no live record) or undefined (not
   * kept, expired, pending, or dropped because another process committed).
   * @param now epoch ms, the time expiry is judged at
   */
  get(model: string, id: string, now: number): { row: CachedRow | null } | undefined {
    const version = this.#version();
    if (version !== this.#seenVersion) {
      this.#entries.clear();
      this.#seenVersion = version;
    }
    const key = `${model}\u0000${id}`;
    const kept = this.#entries.get(key);
    if (!kept || 'pending' in kept) return undefined;
    if (kept.expiresAt !== null && kept.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return kept;
  }

  /**
   * Keeps what `find` just read from the file (after `get` said it had nothing): the row with its
   * expiry (epoch ms or null), or that there is no live record.
   */
  keepRead(model: string, id: string, row: (CachedRow & { expires_at: number | null }) | undefined): void {
    if (!row && id.length > MAX_KEPT_ABSENT_ID) return;
    this.#set(`${model}\u0000${id}`, row ? { row: { payload: row.payload, consumed: row.consumed }, expiresAt: row.expires_at } : { row: null, expiresAt: null });
  }

  /** Drops a record's copy before a write to it is queued (a read after that goes to the file). */
  forget(model: string, id: string): void {
    if (this.#models.has(model)) this.#entries.delete(`${model}\u0000${id}`);
  }

  /**
   * Before an `upsert` is queued: for a `keptOnWrite` model, marks the record (a read meanwhile
   * goes to the file) and returns the marker to hand to `settled`; for others, forgets it.
   */
  pending(model: string, id: string): PendingWrite | undefined {
    if (!this.#keptOnWrite.has(model)) {
      this.forget(model, id);
      return undefined;
    }
    // Nothing kept yet (or all dropped): the version the row will be kept against, asked before this
    // process's write — else the first `get` would see a "change" from nothing and drop every row
    // upserted since start. Not in `keepRead`: there `get` asked it before the row was read, and
    // asking after could take another process's later commit for one the row already shows.
    if (this.#entries.size === 0) this.#seenVersion = this.#version();
    const key = `${model}\u0000${id}`;
    const marker: PendingWrite = { pending: true };
    this.#entries.delete(key); // re-inserted: the marker is the newest entry
    this.#set(key, marker);
    return marker;
  }

  /**
   * After the upsert `marker` stands for: keeps its row (committed; `expiresAt` epoch ms or null) or
   * nothing (failed), if the marker is still there.
   */
  settled(model: string, id: string, marker: PendingWrite | undefined, written: { row: CachedRow; expiresAt: number | null } | undefined): void {
    if (!marker) return;
    const key = `${model}\u0000${id}`;
    if (this.#entries.get(key) !== marker) return;
    if (written) this.#entries.set(key, written);
    else this.#entries.delete(key);
  }

  /** Drops every copy (a write that may touch any record, e.g. revoking a grant). */
  clear(): void {
    this.#entries.clear();
  }

  #set(key: string, entry: Entry | PendingWrite): void {
    if (this.#entries.size >= this.#maxRecords && !this.#entries.has(key)) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, entry);
  }
}
