import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Payload } from '../../shared/types.ts';
import { exchangeableFields, expiresAt, externalVersionReader, indexFields, PURGE_INTERVAL_MS, type Store } from '../adapter.ts';
import { GroupCommit, runStatement } from './group_commit.ts';
import { ReadCache, type CachedRow } from './read_cache.ts';
import { openDatabase } from './schema.ts';

/** The condition a record is live on (bound to now, epoch ms). */
const LIVE = '(expires_at IS NULL OR expires_at > ?)';

/** A row as the read statements return it (the read cache keeps the same shape). */
type Row = CachedRow;

/** How stale the read cache's view of other processes' commits may be (ms). */
const CACHE_VERSION_CHECK_MS = 50;

/**
 * Embedded default store: one SQLite file in WAL mode through `node:sqlite`.
 * node:sqlite is synchronous, which keeps every statement atomic within this process;
 * SQLite's file locking covers other processes on the same file.
 *
 * Writes (upsert, insert, exchange, consume, destroy, revokeByGrantId, increment) go through a
 * group commit (group_commit.ts): queued, committed together at the end of the event-loop turn,
 * each caller's promise settled after that commit. Every read, and `close`, first commits what is
 * queued, so this process always reads its own writes in order. `exchange` reads and rewrites its
 * row inside the commit's transaction (`BEGIN IMMEDIATE` holds the file's write lock from the
 * start), so no other process writes between its read and its write.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  #db: DatabaseSync;
  #timer: NodeJS.Timeout;
  #s: Record<string, StatementSync>;
  #writes: GroupCommit;
  #cache: ReadCache;

  /**
   * @param file the database file (created with its directory, mode 0700), or `:memory:`. The file
   *   is made mode 0600 (SQLite gives its -wal and -shm files the same mode): it holds live bearer
   *   values — opaque tokens, device codes, sessions are stored under their own value as the id.
   * @param options.busyTimeoutMs how long a write waits for another process's lock on the file
   *   before it fails with StoreUnavailableError (SQLite `busy_timeout`, default 5000 ms)
   * @param options.cachedModels models whose records are kept in memory once read here (e.g.
   *   `DeviceCode`, read on every poll; access tokens, read by every introspection): the row `find`
   *   read, or that it found no live record (read_cache.ts). Any write of this process to the
   *   record drops it (and `revokeByGrantId` all of them), a row is never returned past its
   *   expiry, and all are dropped when another process has committed to the file (`data_version`,
   *   asked at most every 50 ms). So this process reads its own writes at once and another
   *   process's within 50 ms.
   * @param options.keptOnWrite those of `cachedModels` whose rows are also kept when this process
   *   `upsert`s them (once committed), for records read soon after they are written (a device
   *   code's first poll); not for tokens, which most often are never read again.
   * @param options.now the clock (epoch ms) that paces the `data_version` check; tests stop it to
   *   see what is served from memory. Default `Date.now`.
   */
  constructor(file: string, options: { busyTimeoutMs?: number; cachedModels?: readonly string[]; keptOnWrite?: readonly string[]; now?: () => number } = {}) {
    this.#cache = new ReadCache({
      models: options.cachedModels ?? [],
      keptOnWrite: options.keptOnWrite,
      // `data_version` as of at most CACHE_VERSION_CHECK_MS ago.
      version: externalVersionReader(this, CACHE_VERSION_CHECK_MS, options.now),
    });
    this.#db = openDatabase(file, Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000)));
    const p = (sql: string) => this.#db.prepare(sql);
    this.#s = {
      upsert: p(`INSERT INTO records (model, id, payload, grant_id, user_code, uid, expires_at, consumed)
                 VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
                 ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
                   user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at, consumed = NULL`),
      insert: p(`INSERT INTO records (model, id, payload, grant_id, user_code, uid, expires_at, consumed)
                 VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
                 ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
                   user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at, consumed = NULL
                 WHERE NOT (records.expires_at IS NULL OR records.expires_at > ?)`),
      find: p(`SELECT payload, consumed, expires_at FROM records WHERE model = ? AND id = ? AND ${LIVE}`),
      inModels: p(`SELECT model, payload, consumed FROM records WHERE model IN (SELECT value FROM json_each(?)) AND id = ? AND ${LIVE}`),
      byUserCode: p(`SELECT payload, consumed FROM records WHERE model = ? AND user_code = ? AND ${LIVE} LIMIT 1`),
      byUid: p(`SELECT payload, consumed FROM records WHERE model = ? AND uid = ? AND ${LIVE} LIMIT 1`),
      exchange: p('UPDATE records SET payload = ? WHERE model = ? AND id = ?'),
      consume: p(`UPDATE records SET consumed = ? WHERE model = ? AND id = ? AND consumed IS NULL AND ${LIVE}`),
      destroy: p('DELETE FROM records WHERE model = ? AND id = ?'),
      revoke: p('DELETE FROM records WHERE grant_id = ?'),
      list: p(`SELECT id, payload, consumed FROM records WHERE model = ? AND ${LIVE} ORDER BY id LIMIT ?`),
      increment: p(`INSERT INTO counters (key, count, reset_at) VALUES (?, ?, ?)
                    ON CONFLICT (key) DO UPDATE SET
                      count = CASE WHEN counters.reset_at > ? AND counters.reset_at <= excluded.reset_at THEN counters.count + excluded.count ELSE excluded.count END,
                      reset_at = CASE WHEN counters.reset_at > ? AND counters.reset_at <= excluded.reset_at THEN counters.reset_at ELSE excluded.reset_at END
                    RETURNING count, reset_at`),
      purge: p('DELETE FROM records WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      purgeCounters: p('DELETE FROM counters WHERE reset_at <= ?'),
      dataVersion: p('PRAGMA data_version'),
    };
    this.#writes = new GroupCommit(this.#db);
    this.#timer = setInterval(() => void this.purgeExpired().catch(() => {}), PURGE_INTERVAL_MS).unref();
  }

  /** Reads see this process's queued writes: they are committed first. */
  #read<T>(fn: () => T): T {
    if (this.#writes.pending) this.#writes.flush();
    return runStatement(fn);
  }

  static #out(row: Row | undefined): Payload | undefined {
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as Payload;
    if (row.consumed !== null) payload.consumed = row.consumed;
    return payload;
  }

  #args(model: string, id: string, payload: Payload, expiresIn?: number) {
    const { grantId, userCode, uid } = indexFields(payload);
    return [model, id, JSON.stringify(payload), grantId ?? null, userCode ?? null, uid ?? null, expiresAt(expiresIn) ?? null] as const;
  }

  async upsert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const marker = this.#cache.pending(model, id);
    const args = this.#args(model, id, payload, expiresIn);
    try {
      await this.#writes.write(() => this.#s.upsert!.run(...args));
    } catch (err) {
      this.#cache.settled(model, id, marker, undefined);
      throw err;
    }
    // The statement sets every column: the record is now exactly this row.
    this.#cache.settled(model, id, marker, { row: { payload: args[2], consumed: null }, expiresAt: args[6] });
  }

  async insert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<boolean> {
    this.#cache.forget(model, id);
    const args = this.#args(model, id, payload, expiresIn);
    const result = await this.#writes.write(() => this.#s.insert!.run(...args, Date.now()));
    return Number(result.changes) === 1;
  }

  async find(model: string, id: string): Promise<Payload | undefined> {
    if (!this.#cache.covers(model)) return SqliteStore.#out(this.#read(() => this.#s.find!.get(model, id, Date.now()) as Row | undefined));
    const now = Date.now();
    const kept = this.#cache.get(model, id, now);
    if (kept) return kept.row ? SqliteStore.#out(kept.row) : undefined;
    const row = this.#read(() => this.#s.find!.get(model, id, now) as (Row & { expires_at: number | null }) | undefined);
    this.#cache.keepRead(model, id, row);
    return SqliteStore.#out(row);
  }

  async findInModels(models: readonly string[], id: string): Promise<Map<string, Payload>> {
    const rows = this.#read(() => this.#s.inModels!.all(JSON.stringify(models), id, Date.now()) as unknown as Array<Row & { model: string }>);
    return new Map(rows.map((r) => [r.model, SqliteStore.#out(r)!]));
  }

  async findByUserCode(model: string, userCode: string): Promise<Payload | undefined> {
    return SqliteStore.#out(this.#read(() => this.#s.byUserCode!.get(model, userCode, Date.now()) as Row | undefined));
  }

  async findByUid(model: string, uid: string): Promise<Payload | undefined> {
    return SqliteStore.#out(this.#read(() => this.#s.byUid!.get(model, uid, Date.now()) as Row | undefined));
  }

  async exchange(model: string, id: string, fields: Payload): Promise<Payload | undefined> {
    exchangeableFields(fields);
    this.#cache.forget(model, id);
    const row = await this.#writes.write(() => {
      const before = this.#s.find!.get(model, id, Date.now()) as Row | undefined;
      if (before) this.#s.exchange!.run(JSON.stringify({ ...(JSON.parse(before.payload) as Payload), ...fields }), model, id);
      return before;
    }, true);
    return SqliteStore.#out(row);
  }

  async consume(model: string, id: string): Promise<boolean> {
    this.#cache.forget(model, id);
    const result = await this.#writes.write(() => {
      const now = Date.now();
      return this.#s.consume!.run(Math.floor(now / 1000), model, id, now);
    });
    return Number(result.changes) === 1;
  }

  async destroy(model: string, id: string): Promise<void> {
    this.#cache.forget(model, id);
    await this.#writes.write(() => this.#s.destroy!.run(model, id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#cache.clear();
    await this.#writes.write(() => this.#s.revoke!.run(grantId));
  }

  async list(model: string, options: { limit?: number } = {}): Promise<Array<{ id: string; payload: Payload }>> {
    const rows = this.#read(() => this.#s.list!.all(model, Date.now(), options.limit ?? -1) as unknown as Array<Row & { id: string }>);
    return rows.map((r) => ({ id: r.id, payload: SqliteStore.#out(r)! }));
  }

  async increment(key: string, windowSeconds: number, by = 1): Promise<{ count: number; resetAt: number }> {
    const row = await this.#writes.write(() => {
      const now = Date.now();
      return this.#s.increment!.get(key, by, now + windowSeconds * 1000, now, now) as { count: number; reset_at: number };
    });
    return { count: row.count, resetAt: row.reset_at };
  }

  /**
   * SQLite's `data_version`: changes when another connection (process) commits to the file. It
   * does not commit this process's queued writes first (they never change it), so asking on the
   * request path does not break up a group commit.
   */
  externalVersion(): number {
    return Number((runStatement(() => this.#s.dataVersion!.get()) as { data_version: number }).data_version);
  }

  async ping(): Promise<void> {
    const id = `ping-${process.pid}`;
    await this.upsert('_health', id, { at: Date.now() }, 60);
    await this.destroy('_health', id);
  }

  async purgeExpired(): Promise<number> {
    const now = Date.now();
    const result = this.#read(() => this.#s.purge!.run(now));
    runStatement(() => this.#s.purgeCounters!.run(now));
    return Number(result.changes);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#cache.clear();
    if (!this.#db.isOpen) return;
    this.#writes.flush();
    this.#db.close();
  }
}
