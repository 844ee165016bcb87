import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { StoreUnavailableError } from '../../shared/errors.ts';
import type { Payload } from '../../shared/types.ts';
import { expiresAt, indexFields, PURGE_INTERVAL_MS, type Store } from '../adapter.ts';

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
) WITHOUT ROWID;
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

interface Row {
  payload: string;
  consumed: number | null;
}

/**
 * Embedded default store: one SQLite file in WAL mode through `node:sqlite`.
 * node:sqlite is synchronous, which keeps every statement atomic within this process;
 * SQLite's file locking covers other processes on the same file.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  #db: DatabaseSync;
  #timer: NodeJS.Timeout;
  #s: Record<string, StatementSync>;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.#db = new DatabaseSync(file);
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.#db.exec(SCHEMA);
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
      find: p(`SELECT payload, consumed FROM records WHERE model = ? AND id = ? AND ${LIVE}`),
      byUserCode: p(`SELECT payload, consumed FROM records WHERE model = ? AND user_code = ? AND ${LIVE} LIMIT 1`),
      byUid: p(`SELECT payload, consumed FROM records WHERE model = ? AND uid = ? AND ${LIVE} LIMIT 1`),
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
    this.#run(() => this.#s.upsert!.run(...this.#args(model, id, payload, expiresIn)));
  }

  async insert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<boolean> {
    const result = this.#run(() => this.#s.insert!.run(...this.#args(model, id, payload, expiresIn), Date.now()));
    return Number(result.changes) === 1;
  }

  async find(model: string, id: string): Promise<Payload | undefined> {
    return SqliteStore.#out(this.#run(() => this.#s.find!.get(model, id, Date.now()) as Row | undefined));
  }

  async findByUserCode(model: string, userCode: string): Promise<Payload | undefined> {
    return SqliteStore.#out(this.#run(() => this.#s.byUserCode!.get(model, userCode, Date.now()) as Row | undefined));
  }

  async findByUid(model: string, uid: string): Promise<Payload | undefined> {
    return SqliteStore.#out(this.#run(() => this.#s.byUid!.get(model, uid, Date.now()) as Row | undefined));
  }

  async consume(model: string, id: string): Promise<boolean> {
    const now = Date.now();
    const result = this.#run(() => this.#s.consume!.run(Math.floor(now / 1000), model, id, now));
    return Number(result.changes) === 1;
  }

  async destroy(model: string, id: string): Promise<void> {
    this.#run(() => this.#s.destroy!.run(model, id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#run(() => this.#s.revoke!.run(grantId));
  }

  async list(model: string, options: { limit?: number } = {}): Promise<Array<{ id: string; payload: Payload }>> {
    const rows = this.#run(() => this.#s.list!.all(model, Date.now(), options.limit ?? -1) as unknown as Array<Row & { id: string }>);
    return rows.map((r) => ({ id: r.id, payload: SqliteStore.#out(r)! }));
  }

  async increment(key: string, windowSeconds: number, by = 1): Promise<{ count: number; resetAt: number }> {
    const now = Date.now();
    const row = this.#run(() => this.#s.increment!.get(key, by, now + windowSeconds * 1000, now, now) as { count: number; reset_at: number });
    return { count: row.count, resetAt: row.reset_at };
  }

  /** SQLite's `data_version`: changes when another connection (process) commits to the file. */
  externalVersion(): number {
    return Number((this.#s.dataVersion!.get() as { data_version: number }).data_version);
  }

  async ping(): Promise<void> {
    const id = `ping-${process.pid}`;
    await this.upsert('_health', id, { at: Date.now() }, 60);
    await this.destroy('_health', id);
  }

  async purgeExpired(): Promise<number> {
    const now = Date.now();
    const result = this.#run(() => this.#s.purge!.run(now));
    this.#run(() => this.#s.purgeCounters!.run(now));
    return Number(result.changes);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#db.isOpen) this.#db.close();
  }
}
