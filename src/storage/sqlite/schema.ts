import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

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

/** Takes group and other permissions off an existing file (from an older version's 0644); best effort: the data dir is 0700 anyway. */
function ownerOnly(file: string): void {
  try {
    if (statSync(file).mode & 0o077) chmodSync(file, 0o600);
  } catch {
    // absent (no -wal yet), or owned by someone else: nothing this process may change
  }
}

/**
 * Opens (creating it, with its directory, mode 0700, and the file mode 0600) the SQLite file
 * SqliteStore keeps its records and counters in, in WAL mode with `synchronous = NORMAL`, the
 * schema in place (an older `WITHOUT ROWID` records table rebuilt once). Several processes may open
 * one new file at the same moment: the setup is retried while SQLite answers SQLITE_BUSY, for up
 * to `busyTimeoutMs`.
 * @param file a path, or `:memory:`
 * @param busyTimeoutMs SQLite `busy_timeout` (ms) of the connection
 * @throws the SQLite error when the file cannot be opened or set up
 */
export function openDatabase(file: string, busyTimeoutMs: number): DatabaseSync {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
    for (const f of [file, `${file}-wal`, `${file}-shm`]) ownerOnly(f);
  }
  const db = new DatabaseSync(file);
  db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs};`);
  // Several processes may open one new file at the same moment (servers started together).
  retryWhileBusy(busyTimeoutMs, () => {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    rebuildWithoutRowidRecords(db);
    db.exec(SCHEMA);
  });
  return db;
}
