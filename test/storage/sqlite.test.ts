import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { MAX_WRITES_PER_COMMIT } from '../../src/storage/sqlite/group_commit.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite_store.ts';
import { CAPABILITIES, runConformance } from './conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runConformance('sqlite', { open: async () => new SqliteStore(join(dir, `store-${n++}.db`)), capabilities: CAPABILITIES });
// The same contract with every model's reads kept in memory (the server keeps device codes' and
// access tokens'), and again with every model's upserts kept too (the server keeps device codes').
const EVERY_MODEL = ['AccessToken', 'ClientCredentials', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'Session', 'Grant', 'Client', 'Account', 'RegistrationToken', 'DevicePoll', 'Interaction'];
runConformance('sqlite, every model read-cached', {
  open: async () => new SqliteStore(join(dir, `store-${n++}.db`), { cachedModels: EVERY_MODEL }),
  capabilities: CAPABILITIES,
});
runConformance('sqlite, every model read-cached and kept on upsert', {
  open: async () => new SqliteStore(join(dir, `store-${n++}.db`), { cachedModels: EVERY_MODEL, keptOnWrite: EVERY_MODEL }),
  capabilities: CAPABILITIES,
});

describe('sqlite specifics', () => {
  it('a file from before, whose records table is WITHOUT ROWID, is rebuilt as a rowid table with every record, index and consumption kept', async () => {
    const file = join(dir, 'without-rowid.db');
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE records (model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, grant_id TEXT, user_code TEXT, uid TEXT,
                expires_at INTEGER, consumed INTEGER, PRIMARY KEY (model, id)) WITHOUT ROWID;
              CREATE INDEX records_grant ON records (grant_id) WHERE grant_id IS NOT NULL;
              CREATE INDEX records_user_code ON records (model, user_code) WHERE user_code IS NOT NULL;
              CREATE INDEX records_uid ON records (model, uid) WHERE uid IS NOT NULL;
              CREATE INDEX records_expiry ON records (expires_at) WHERE expires_at IS NOT NULL;
              CREATE TABLE counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, reset_at INTEGER NOT NULL) WITHOUT ROWID;`);
    const later = Date.now() + 600_000;
    old.prepare('INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('DeviceCode', 'd1', JSON.stringify({ grantId: 'g1', userCode: 'BCDF' }), 'g1', 'BCDF', null, later, null);
    old.prepare('INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('AuthorizationCode', 'c1', JSON.stringify({ grantId: 'g1' }), 'g1', null, null, later, 1700000000);
    old.prepare('INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('Session', 's1', JSON.stringify({ uid: 'u1' }), null, null, 'u1', null, null);
    old.close();

    for (let open = 0; open < 2; open += 1) {
      const store = new SqliteStore(file);
      try {
        assert.deepEqual(await store.findByUserCode('DeviceCode', 'BCDF'), { grantId: 'g1', userCode: 'BCDF' });
        assert.equal((await store.find('AuthorizationCode', 'c1'))?.consumed, 1700000000);
        assert.deepEqual(await store.findByUid('Session', 'u1'), { uid: 'u1' });
        assert.equal(await store.insert('Session', 's1', { uid: 'u1' }), false, 'the key is still unique');
        if (open === 1) {
          // The second opening found the rebuilt table and changed nothing; the grant index works.
          await store.revokeByGrantId('g1');
          assert.equal(await store.find('DeviceCode', 'd1'), undefined);
          assert.equal(await store.find('AuthorizationCode', 'c1'), undefined);
        }
      } finally {
        await store.close();
      }
    }
    const check = new DatabaseSync(file);
    const sql = (check.prepare("SELECT sql FROM sqlite_master WHERE name = 'records'").get() as { sql: string }).sql;
    const indexes = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    const leftovers = check.prepare("SELECT name FROM sqlite_master WHERE name = 'records_without_rowid'").all();
    check.close();
    assert.doesNotMatch(sql, /WITHOUT ROWID/i);
    assert.deepEqual(indexes, ['records_expiry', 'records_grant', 'records_uid', 'records_user_code']);
    assert.deepEqual(leftovers, []);
  });
  it('a read-cached model: this process sees its own writes at once, another process\'s within 50 ms, and never an expired row', async () => {
    const file = join(dir, 'read-cache.db');
    const a = new SqliteStore(file, { cachedModels: ['DeviceCode'] });
    const other = new SqliteStore(file);
    try {
      await a.upsert('DeviceCode', 'd', { grantId: 'g1', userCode: 'U1' }, 60);
      assert.deepEqual(await a.find('DeviceCode', 'd'), { grantId: 'g1', userCode: 'U1' });
      await a.upsert('DeviceCode', 'd', { grantId: 'g1', userCode: 'U1', accountId: 'alice' }, 60);
      assert.equal((await a.find('DeviceCode', 'd'))?.accountId, 'alice', 'own upsert');
      assert.equal(await a.consume('DeviceCode', 'd'), true);
      assert.equal(typeof (await a.find('DeviceCode', 'd'))?.consumed, 'number', 'own consume');
      await a.revokeByGrantId('g1');
      assert.equal(await a.find('DeviceCode', 'd'), undefined, 'own revokeByGrantId');

      await a.upsert('DeviceCode', 'e', { grantId: 'g2' }, 60);
      assert.deepEqual(await a.find('DeviceCode', 'e'), { grantId: 'g2' });
      await a.destroy('DeviceCode', 'e');
      assert.equal(await a.find('DeviceCode', 'e'), undefined, 'own destroy');

      await a.upsert('DeviceCode', 'f', { grantId: 'g3' }, 60);
      assert.deepEqual(await a.find('DeviceCode', 'f'), { grantId: 'g3' });
      await other.upsert('DeviceCode', 'f', { grantId: 'g3', accountId: 'bob' }, 60);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal((await a.find('DeviceCode', 'f'))?.accountId, 'bob', "another process's write, 50 ms on");
      assert.equal(await other.consume('DeviceCode', 'f'), true);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(typeof (await a.find('DeviceCode', 'f'))?.consumed, 'number', "another process's consume, 50 ms on");
      assert.equal(await a.consume('DeviceCode', 'f'), false, 'consumed once between the two');

      await a.upsert('DeviceCode', 'short', { grantId: 'g4' }, 0.2);
      assert.deepEqual(await a.find('DeviceCode', 'short'), { grantId: 'g4' });
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(await a.find('DeviceCode', 'short'), undefined, 'expired');
      // What a caller does to a returned payload does not reach the kept row.
      await a.upsert('DeviceCode', 'm', { grantId: 'g5' }, 60);
      (await a.find('DeviceCode', 'm'))!.accountId = 'mallory';
      assert.equal((await a.find('DeviceCode', 'm'))?.accountId, undefined);
    } finally {
      await a.close();
      await other.close();
    }
  });
  it('a read-cached model keeps "not found" too: its own upsert or insert is seen at once, another process\'s within 50 ms', async () => {
    const file = join(dir, 'read-cache-absent.db');
    const a = new SqliteStore(file, { cachedModels: ['AccessToken'] });
    const other = new SqliteStore(file);
    try {
      assert.equal(await a.find('AccessToken', 't1'), undefined);
      assert.equal(await a.find('AccessToken', 't1'), undefined, 'asked again');
      await a.upsert('AccessToken', 't1', { jti: 't1' }, 60);
      assert.deepEqual(await a.find('AccessToken', 't1'), { jti: 't1' }, 'own upsert after a miss');
      assert.equal(await a.find('AccessToken', 't2'), undefined);
      assert.equal(await a.insert('AccessToken', 't2', { jti: 't2' }, 60), true);
      assert.deepEqual(await a.find('AccessToken', 't2'), { jti: 't2' }, 'own insert after a miss');
      assert.equal(await a.find('AccessToken', 't3'), undefined);
      await other.upsert('AccessToken', 't3', { jti: 't3' }, 60);
      await new Promise((r) => setTimeout(r, 60));
      assert.deepEqual(await a.find('AccessToken', 't3'), { jti: 't3' }, "another process's upsert after a miss, 50 ms on");
      // Revoked elsewhere: gone here within the same bound.
      assert.deepEqual(await a.find('AccessToken', 't1'), { jti: 't1' });
      await other.destroy('AccessToken', 't1');
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(await a.find('AccessToken', 't1'), undefined, "another process's destroy, 50 ms on");
    } finally {
      await a.close();
      await other.close();
    }
  });
  it('kept on upsert: the committed row is read back, a write queued after it wins, and an upsert whose commit fails leaves nothing behind', async () => {
    const file = join(dir, 'kept-on-write.db');
    const a = new SqliteStore(file, { cachedModels: ['DeviceCode'], keptOnWrite: ['DeviceCode'], busyTimeoutMs: 0 });
    try {
      await a.upsert('DeviceCode', 'd', { grantId: 'g1' }, 60);
      assert.deepEqual(await a.find('DeviceCode', 'd'), { grantId: 'g1' });
      // Queued in the same turn: the upsert, then a consume of the same record.
      const upserted = a.upsert('DeviceCode', 'q', { grantId: 'g2' }, 60);
      const consumed = a.consume('DeviceCode', 'q');
      await upserted;
      assert.equal(await consumed, true);
      assert.equal(typeof (await a.find('DeviceCode', 'q'))?.consumed, 'number', 'the consume queued after the upsert');
      // Two upserts in one turn: the second is what is kept.
      await Promise.all([a.upsert('DeviceCode', 'r', { grantId: 'g3', n: 1 }, 60), a.upsert('DeviceCode', 'r', { grantId: 'g3', n: 2 }, 60)]);
      assert.equal((await a.find('DeviceCode', 'r'))?.n, 2);

      // Another connection holds the write lock: the upsert's commit fails at once (busy_timeout 0).
      const holder = new DatabaseSync(file);
      holder.exec('BEGIN IMMEDIATE');
      try {
        await assert.rejects(a.upsert('DeviceCode', 'lost', { grantId: 'g4' }, 60), { name: 'StoreUnavailableError' });
        assert.equal(await a.find('DeviceCode', 'lost'), undefined, 'nothing kept of a write that was not committed');
      } finally {
        holder.exec('ROLLBACK');
        holder.close();
      }
      assert.equal(await a.find('DeviceCode', 'lost'), undefined);
    } finally {
      await a.close();
    }
  });
  it('what is served from memory (the data_version clock stopped): rows read, "not found", rows upserted with keptOnWrite; a long unknown id is not kept; the clock moving on shows the file', async () => {
    const file = join(dir, 'served-from-memory.db');
    let clock = Date.now();
    const a = new SqliteStore(file, { cachedModels: ['AccessToken', 'DeviceCode'], keptOnWrite: ['DeviceCode'], now: () => clock });
    // Another process writing behind the store's back: its commits change data_version, which the
    // store asks only when its clock has moved 50 ms on.
    const raw = new DatabaseSync(file);
    const rewrite = (model: string, id: string, payload: Record<string, unknown>) =>
      raw.prepare('INSERT INTO records (model, id, payload, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload').run(model, id, JSON.stringify(payload), Date.now() + 60_000);
    try {
      await a.upsert('AccessToken', 'read', { v: 1 }, 60);
      assert.deepEqual(await a.find('AccessToken', 'read'), { v: 1 });
      assert.equal(await a.find('AccessToken', 'absent'), undefined);
      const long = 'x'.repeat(129);
      assert.equal(await a.find('AccessToken', long), undefined);
      await a.upsert('DeviceCode', 'written', { v: 1 }, 60);
      await a.upsert('AccessToken', 'not-kept-on-write', { v: 1 }, 60);

      rewrite('AccessToken', 'read', { v: 2 });
      rewrite('AccessToken', 'absent', { v: 2 });
      rewrite('AccessToken', long, { v: 2 });
      rewrite('DeviceCode', 'written', { v: 2 });
      rewrite('AccessToken', 'not-kept-on-write', { v: 2 });
      assert.deepEqual(await a.find('AccessToken', 'read'), { v: 1 }, 'a row read is served from memory');
      assert.equal(await a.find('AccessToken', 'absent'), undefined, '"not found" is served from memory');
      assert.deepEqual(await a.find('AccessToken', long), { v: 2 }, 'a miss for an id over 128 characters is not kept');
      assert.deepEqual(await a.find('DeviceCode', 'written'), { v: 1 }, 'a keptOnWrite upsert is served from memory');
      assert.deepEqual(await a.find('AccessToken', 'not-kept-on-write'), { v: 2 }, 'other models are not kept on upsert');

      clock += 50;
      assert.deepEqual(await a.find('AccessToken', 'read'), { v: 2 }, 'the clock moved on: another process\'s commit drops every copy');
      assert.deepEqual(await a.find('AccessToken', 'absent'), { v: 2 });
      assert.deepEqual(await a.find('DeviceCode', 'written'), { v: 2 });
    } finally {
      raw.close();
      await a.close();
    }
  });
  it('rows kept before the first lookup are served (a fresh store whose first operation is a keptOnWrite upsert)', async () => {
    const file = join(dir, 'kept-from-start.db');
    let clock = Date.now();
    const a = new SqliteStore(file, { cachedModels: ['DeviceCode'], keptOnWrite: ['DeviceCode'], now: () => clock });
    const raw = new DatabaseSync(file);
    try {
      await a.upsert('DeviceCode', 'first', { v: 1 }, 60);
      raw.prepare("UPDATE records SET payload = ? WHERE model = 'DeviceCode' AND id = 'first'").run(JSON.stringify({ v: 2 }));
      assert.deepEqual(await a.find('DeviceCode', 'first'), { v: 1 }, 'the upserted row is served from memory on the first lookup');
      clock += 50;
      assert.deepEqual(await a.find('DeviceCode', 'first'), { v: 2 }, "another process's commit shows once the clock moves on");
    } finally {
      raw.close();
      await a.close();
    }
  });
  it("a row read just before another process's commit is not kept past that commit (the version is asked before the read)", async () => {
    const file = join(dir, 'kept-read-version.db');
    let clock = 0;
    // What the store's clock answers next, in order, before it answers `clock` again.
    const script: Array<() => number> = [];
    const a = new SqliteStore(file, { cachedModels: ['AccessToken'], now: () => (script.length > 0 ? script.shift()!() : clock) });
    const raw = new DatabaseSync(file);
    const otherProcessCommits = () => {
      raw.prepare("UPDATE records SET payload = ? WHERE model = 'AccessToken' AND id = 'x'").run(JSON.stringify({ v: 2 }));
      return 50;
    };
    try {
      await a.upsert('AccessToken', 'x', { v: 1 }, 60);
      // An id too long to be kept: the cache stays empty, its version asked at 0.
      assert.equal(await a.find('AccessToken', 'y'.repeat(129)), undefined);
      // At 49 ms the version is not asked again; the row is read. Should the store ask its clock
      // again before keeping the row, another process commits at that moment and the clock moves on.
      script.push(() => 49, otherProcessCommits);
      assert.deepEqual(await a.find('AccessToken', 'x'), { v: 1 });
      if (script.length > 0) script.shift()!(); // the commit, right after the read
      clock = 1000;
      assert.deepEqual(await a.find('AccessToken', 'x'), { v: 2 }, 'the row read before the commit is dropped once the clock moves on');
    } finally {
      raw.close();
      await a.close();
    }
  });
  it('servers opening the same new file at the same moment all start (busy_timeout before the switch to WAL)', async () => {
    const store = new URL('../../src/storage/sqlite/sqlite_store.ts', import.meta.url).href;
    for (let round = 0; round < 3; round += 1) {
      const file = join(dir, `opened-together-${round}.db`);
      const script = `import { SqliteStore } from ${JSON.stringify(store)}; const s = new SqliteStore(${JSON.stringify(file)}); await s.upsert('Client', String(process.pid), {}); await s.close();`;
      // Each child waits for the same moment before it opens the file.
      const at = Date.now() + 1500;
      const children = Array.from({ length: 6 }, () =>
        spawn(process.execPath, ['--input-type=module', '-e', `await new Promise((r) => setTimeout(r, ${at} - Date.now())); ${script}`], { stdio: ['ignore', 'ignore', 'pipe'] }),
      );
      const results = await Promise.all(
        children.map(
          (child) =>
            new Promise<{ code: number | null; stderr: string }>((resolve) => {
              let stderr = '';
              child.stderr!.on('data', (d) => (stderr += d));
              child.on('close', (code) => resolve({ code, stderr }));
            }),
        ),
      );
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const check = new SqliteStore(file);
      assert.equal((await check.list('Client')).length, 6);
      await check.close();
    }
  });
  it('keeps data across reopening the same file', async () => {
    const file = join(dir, 'reopen.db');
    const a = new SqliteStore(file);
    await a.upsert('Client', 'c1', { client_id: 'c1' });
    await a.close();
    const b = new SqliteStore(file);
    assert.deepEqual(await b.find('Client', 'c1'), { client_id: 'c1' });
    await b.close();
  });
  it('the database and its -wal and -shm files are readable by their owner only (they hold live bearer values); a 0644 file from before is tightened', async () => {
    const mode = (f: string) => statSync(f).mode & 0o777;
    const file = join(dir, 'modes.db');
    const store = new SqliteStore(file);
    await store.upsert('AccessToken', 'tok', { jti: 'tok' });
    for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(f), 0o600, f);
    await store.close();
    const old = join(dir, 'old-0644.db');
    const legacy = new DatabaseSync(old);
    legacy.exec('CREATE TABLE t (x)');
    legacy.close();
    chmodSync(old, 0o644);
    const reopened = new SqliteStore(old);
    assert.equal(mode(old), 0o600);
    await reopened.close();
  });
  it('two handles on one file see each other and consume once between them', async () => {
    const file = join(dir, 'shared.db');
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    await a.upsert('AuthorizationCode', 'x', { grantId: 'g' }, 60);
    const results = await Promise.all([a.consume('AuthorizationCode', 'x'), b.consume('AuthorizationCode', 'x')]);
    assert.equal(results.filter(Boolean).length, 1);
    await a.close();
    await b.close();
  });
  it('exchange is atomic across connections: threads exchanging on one file in parallel lose no update', async () => {
    const file = join(dir, 'exchange.db');
    const s = new SqliteStore(file);
    await s.upsert('DevicePoll', 'p', { lastPoll: -1 }, 600);
    // Each thread has its own connection and awaits each exchange, so every one is alone in its
    // commit: the case where only the transaction keeps another connection out between read and write.
    const storeUrl = new URL('../../src/storage/sqlite/sqlite_store.ts', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.storeUrl).then(async ({ SqliteStore }) => {
        const s = new SqliteStore(workerData.file, { busyTimeoutMs: 30000 });
        const seen = [];
        for (let i = 0; i < workerData.n; i += 1) seen.push((await s.exchange('DevicePoll', 'p', { lastPoll: workerData.base + i })).lastPoll);
        await s.close();
        parentPort.postMessage(seen);
      });`;
    const n = 400;
    const run = (base: number) =>
      new Promise<number[]>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { file, storeUrl, n, base } });
        w.once('message', resolve);
        w.once('error', reject);
      });
    const seen = (await Promise.all([run(0), run(1000), run(2000)])).flat();
    const last = (await s.find('DevicePoll', 'p'))!.lastPoll as number;
    const written = [-1, ...[0, 1000, 2000].flatMap((base) => Array.from({ length: n }, (_, i) => base + i))];
    assert.deepEqual([...seen, last].sort((a, b) => a - b), written.sort((a, b) => a - b));
    await s.close();
  });
  it('a closed database reports the store as unavailable instead of crashing', async () => {
    const s = new SqliteStore(join(dir, 'closed.db'));
    await s.close();
    await assert.rejects(s.find('Client', 'x'), { code: 'ERR_STORE_UNAVAILABLE' });
    await assert.rejects(s.ping(), { code: 'ERR_STORE_UNAVAILABLE' });
  });

});

describe('sqlite group commit', () => {
  it('commits the writes of one turn together: every caller resolves after the commit, and another connection then sees them all', async () => {
    const file = join(dir, 'group.db');
    const s = new SqliteStore(file);
    const count = MAX_WRITES_PER_COMMIT + 40; // more than one transaction's worth
    await Promise.all(Array.from({ length: count }, (_, i) => s.upsert('AccessToken', `t${i}`, { i }, 60)));
    const other = new DatabaseSync(file);
    const row = other.prepare("SELECT count(*) AS n FROM records WHERE model = 'AccessToken'").get() as { n: number };
    assert.equal(row.n, count);
    other.close();
    await s.close();
  });
  it('a read in the same turn sees the writes queued before it, in order', async () => {
    const s = new SqliteStore(join(dir, 'order.db'));
    const writes = [s.upsert('Session', 'a', { v: 1 }, 60), s.upsert('Session', 'a', { v: 2 }, 60), s.destroy('Session', 'b')];
    const inserted = s.insert('Session', 'c', { v: 3 }, 60);
    const consumed = s.consume('Session', 'c');
    assert.deepEqual(await s.find('Session', 'a'), { v: 2 });
    assert.equal(((await s.find('Session', 'c')) as { consumed?: number }).consumed !== undefined, true);
    await Promise.all(writes);
    assert.equal(await inserted, true);
    assert.equal(await consumed, true);
    assert.equal(await s.consume('Session', 'c'), false);
    await s.close();
  });
  it('a statement that fails rejects only its own caller; the rest of the batch is committed', async () => {
    const file = join(dir, 'partial.db');
    const s = new SqliteStore(file);
    // JSON.stringify gives undefined for this payload: SQLite refuses NULL for the payload column.
    const broken = { toJSON: () => undefined } as unknown as Record<string, unknown>;
    const results = await Promise.allSettled([s.upsert('Grant', 'ok1', { a: 1 }, 60), s.upsert('Grant', 'bad', broken, 60), s.upsert('Grant', 'ok2', { a: 2 }, 60)]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal((results[1] as PromiseRejectedResult).reason.code, 'ERR_STORE_UNAVAILABLE');
    await s.close();
    const again = new SqliteStore(file);
    assert.deepEqual(await again.find('Grant', 'ok1'), { a: 1 });
    assert.deepEqual(await again.find('Grant', 'ok2'), { a: 2 });
    assert.equal(await again.find('Grant', 'bad'), undefined);
    await again.close();
  });
  it('a batch that cannot commit (another process holds the file past busy_timeout) rejects every caller and keeps nothing', async () => {
    const file = join(dir, 'locked.db');
    const s = new SqliteStore(file, { busyTimeoutMs: 50 });
    await s.upsert('Grant', 'before', { a: 0 }, 60);
    const holder = new DatabaseSync(file);
    holder.exec('BEGIN IMMEDIATE');
    const results = await Promise.allSettled([s.upsert('Grant', 'x', { a: 1 }, 60), s.upsert('Grant', 'y', { a: 2 }, 60)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    for (const r of results) assert.equal((r as PromiseRejectedResult).reason.code, 'ERR_STORE_UNAVAILABLE');
    holder.exec('ROLLBACK');
    holder.close();
    // The store works again once the lock is gone, and the refused writes were not kept.
    await s.upsert('Grant', 'after', { a: 3 }, 60);
    assert.equal(await s.find('Grant', 'x'), undefined);
    assert.deepEqual(await s.find('Grant', 'after'), { a: 3 });
    await s.close();
  });
  it('close commits what is queued', async () => {
    const file = join(dir, 'close.db');
    const s = new SqliteStore(file);
    const pending = s.upsert('Grant', 'late', { a: 1 }, 60);
    await s.close();
    await pending;
    const again = new SqliteStore(file);
    assert.deepEqual(await again.find('Grant', 'late'), { a: 1 });
    await again.close();
  });
});
