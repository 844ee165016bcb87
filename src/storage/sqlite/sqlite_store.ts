import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { StoreUnavailableError } from '../../shared/errors.ts';
import type { Payload } from '../../shared/types.ts';
import { exchangeableFields, expiresAt, externalVersionReader, indexFields, PURGE_INTERVAL_MS, type Store } from '../adapter.ts';
import { ReadCache, type CachedRow } from './read_cache.ts';

// A rowid table, not WITHOUT ROWID: rows of 300–600 bytes (token payloads) inserted under random ids
// cost ~10 µs less per token this way (bench/README.md, ninth session); the key is its unique index.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  payload TEXT NOT NULL,
  grant_id TEXT,
  user_code TEXT,
  uid TEXT,
  expires_at INTEGER,
  consumed INTEGER,
  PRIMARY KEY (model, id)
);
CREATE INDEX IF NOT EXISTS records_grant ON records (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_user_code ON records (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_uid ON records (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_expiry ON records (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS counters (
  key TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  reset_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

const LIVE = '(expires_at IS NULL OR expires_at > ?)';

const RECORD_INDEXES = ['records_grant', 'records_user_code', 'records_uid', 'records_expiry'];

/**
 * Files made before the ninth session hold `records` as a `WITHOUT ROWID` table: rebuilt once as a
 * rowid table with the same columns, key and indexes (SCHEMA), rows copied, in one `BEGIN IMMEDIATE`
 * transaction; another process opening the file meanwhile waits for it (busy_timeout) and finds the
 * work done. Nothing else changes: the same statements run on both shapes.
 */
function rebuildWithoutRowidRecords(db: DatabaseSync): void {
  const withoutRowid = () => {
    const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'records'").get() as { sql?: string } | undefined;
    return /WITHOUT\s+ROWID/i.test(row?.sql ?? '');
  };
  if (!withoutRowid()) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    if (withoutRowid()) {
      db.exec('ALTER TABLE records RENAME TO records_without_rowid');
      for (const index of RECORD_INDEXES) db.exec(`DROP INDEX IF EXISTS ${index}`);
      db.exec(SCHEMA);
      db.exec(`INSERT INTO records (model, id, payload, grant_id, user_code, uid, expires_at, consumed)
               SELECT model, id, payload, grant_id, user_code, uid, expires_at, consumed FROM records_without_rowid`);
      db.exec('DROP TABLE records_without_rowid');
    }
    db.exec('COMMIT');
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

/** For a synchronous pause: nothing ever notifies it. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `setup` (idempotent) again while SQLite answers SQLITE_BUSY, for up to `timeoutMs`. SQLite
 * answers it at once, without waiting through busy_timeout, where waiting could deadlock: two
 * connections switching one new file to WAL, or a schema write on a snapshot another process has
 * just moved past. Start-up only: it pauses the thread 10–30 ms between tries.
 */
function retryWhileBusy(timeoutMs: number, setup: () => void): void {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      setup();
      return;
    } catch (err) {
      const code = (err as { errcode?: unknown }).errcode;
      if (typeof code !== 'number' || (code & 0xff) !== SQLITE_BUSY || Date.now() >= until) throw err;
      Atomics.wait(PAUSE, 0, 0, 10 + Math.random() * 20);
    }
  }
}
const SQLITE_BUSY = 5;

/** A row as the read statements return it (the read cache keeps the same shape). */
type Row = CachedRow;

/** How stale the read cache's view of other processes' commits may be (ms). */
const CACHE_VERSION_CHECK_MS = 50;

/** One queued write: the statement's work, and the caller's promise to settle after the commit. */
interface QueuedWrite {
  work: () => unknown;
  /** Several statements that must commit together even when the write is alone in its turn. */
  transaction: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Writes committed together at most (a larger queue commits in several transactions). */
export const MAX_WRITES_PER_COMMIT = 256;

/** Takes group and other permissions off an existing file (from an older version's 0644); best effort: the data dir is 0700 anyway. */
function ownerOnly(file: string): void {
  try {
    if (statSync(file).mode & 0o077) chmodSync(file, 0o600);
  } catch {
    // absent (no -wal yet), or owned by someone else: nothing this process may change
  }
}

/**
 * Embedded default store: one SQLite file in WAL mode through `node:sqlite`.
 * node:sqlite is synchronous, which keeps every statement atomic within this process;
 * SQLite's file locking covers other processes on the same file.
 *
 * Group commit: writes (upsert, insert, exchange, consume, destroy, revokeByGrantId, increment) are queued
 * and committed together in one transaction at the end of the event-loop turn (`setImmediate`),
 * and each caller's promise settles only after that commit, so a resolved write is as durable as
 * before. Under load this turns twenty token writes into one commit instead of twenty (a commit
 * and its WAL frames cost more than the row). Every read, and `close`, first commits what is
 * queued, so this process always reads its own writes in order. A statement that fails rejects
 * only its own caller; a commit that fails (disk full, another process holding the lock past
 * `busy_timeout`) rolls the batch back and rejects every caller in it with StoreUnavailableError.
 * `exchange` reads and rewrites its row inside that transaction (`BEGIN IMMEDIATE` holds the
 * file's write lock from the start), so no other process writes between its read and its write.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  #db: DatabaseSync;
  #timer: NodeJS.Timeout;
  #s: Record<string, StatementSync>;
  #queue: QueuedWrite[] = [];
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
    if (file !== ':memory:') {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'a', 0o600));
      for (const f of [file, `${file}-wal`, `${file}-shm`]) ownerOnly(f);
    }
    this.#db = new DatabaseSync(file);
    const busyTimeout = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
    this.#db.exec(`PRAGMA busy_timeout = ${busyTimeout};`);
    // Several processes may open one new file at the same moment (servers started together).
    retryWhileBusy(busyTimeout, () => {
      this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      rebuildWithoutRowidRecords(this.#db);
      this.#db.exec(SCHEMA);
    });
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
                      count = CASE WHEN counters.reset_at > ? THEN counters.count + excluded.count ELSE excluded.count END,
                      reset_at = CASE WHEN counters.reset_at > ? THEN counters.reset_at ELSE excluded.reset_at END
                    RETURNING count, reset_at`),
      purge: p('DELETE FROM records WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      purgeCounters: p('DELETE FROM counters WHERE reset_at <= ?'),
      dataVersion: p('PRAGMA data_version'),
      begin: p('BEGIN IMMEDIATE'),
      commit: p('COMMIT'),
      rollback: p('ROLLBACK'),
    };
    this.#timer = setInterval(() => void this.purgeExpired().catch(() => {}), PURGE_INTERVAL_MS).unref();
  }

  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new StoreUnavailableError(`sqlite: ${(err as Error).message}`, err);
    }
  }

  /** Queues one write for the next group commit; the promise settles after it. */
  #write<T>(work: () => T, transaction = false): Promise<T> {
    if (!this.#db.isOpen) return Promise.reject(new StoreUnavailableError('sqlite: the store is closed'));
    if (this.#queue.length === 0) setImmediate(this.#commitQueued);
    return new Promise<T>((resolve, reject) => this.#queue.push({ work, transaction, resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Commits every queued write (before any read, and at the end of the turn). */
  #commitQueued = (): void => {
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= MAX_WRITES_PER_COMMIT ? this.#queue : this.#queue.slice(0, MAX_WRITES_PER_COMMIT);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_WRITES_PER_COMMIT);
      this.#commit(batch);
    }
  };

  #commit(batch: QueuedWrite[]): void {
    if (batch.length === 1 && !batch[0]!.transaction) {
      const only = batch[0]!;
      try {
        only.resolve(this.#run(only.work));
      } catch (err) {
        only.reject(err);
      }
      return;
    }
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
    try {
      this.#run(() => this.#s.begin!.run());
      for (const write of batch) {
        try {
          outcomes.push({ ok: true, value: this.#run(write.work) });
        } catch (err) {
          // A constraint error undoes this statement only; a full disk or an I/O error ends the
          // whole transaction, and then nothing more may run outside it: the batch fails.
          if (!this.#db.isTransaction) throw err;
          outcomes.push({ ok: false, err });
        }
      }
      this.#run(() => this.#s.commit!.run());
    } catch (err) {
      try {
        if (this.#db.isTransaction) this.#s.rollback!.run();
      } catch {
        // the connection is unusable: every caller of the batch is told below all the same
      }
      for (const write of batch) write.reject(err);
      return;
    }
    batch.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.err);
    });
  }

  /** Reads see this process's queued writes: they are committed first. */
  #read<T>(fn: () => T): T {
    if (this.#queue.length > 0) this.#commitQueued();
    return this.#run(fn);
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
      await this.#write(() => this.#s.upsert!.run(...args));
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
    const result = await this.#write(() => this.#s.insert!.run(...args, Date.now()));
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
    const row = await this.#write(() => {
      const before = this.#s.find!.get(model, id, Date.now()) as Row | undefined;
      if (before) this.#s.exchange!.run(JSON.stringify({ ...(JSON.parse(before.payload) as Payload), ...fields }), model, id);
      return before;
    }, true);
    return SqliteStore.#out(row);
  }

  async consume(model: string, id: string): Promise<boolean> {
    this.#cache.forget(model, id);
    const result = await this.#write(() => {
      const now = Date.now();
      return this.#s.consume!.run(Math.floor(now / 1000), model, id, now);
    });
    return Number(result.changes) === 1;
  }

  async destroy(model: string, id: string): Promise<void> {
    this.#cache.forget(model, id);
    await this.#write(() => this.#s.destroy!.run(model, id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#cache.clear();
    await this.#write(() => this.#s.revoke!.run(grantId));
  }

  async list(model: string, options: { limit?: number } = {}): Promise<Array<{ id: string; payload: Payload }>> {
    const rows = this.#read(() => this.#s.list!.all(model, Date.now(), options.limit ?? -1) as unknown as Array<Row & { id: string }>);
    return rows.map((r) => ({ id: r.id, payload: SqliteStore.#out(r)! }));
  }

  async increment(key: string, windowSeconds: number, by = 1): Promise<{ count: number; resetAt: number }> {
    const row = await this.#write(() => {
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
    return Number((this.#run(() => this.#s.dataVersion!.get()) as { data_version: number }).data_version);
  }

  async ping(): Promise<void> {
    const id = `ping-${process.pid}`;
    await this.upsert('_health', id, { at: Date.now() }, 60);
    await this.destroy('_health', id);
  }

  async purgeExpired(): Promise<number> {
    const now = Date.now();
    const result = this.#read(() => this.#s.purge!.run(now));
    this.#run(() => this.#s.purgeCounters!.run(now));
    return Number(result.changes);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#cache.clear();
    if (!this.#db.isOpen) return;
    this.#commitQueued();
    this.#db.close();
  }
}
