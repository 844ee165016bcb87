import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { databaseName, MongoStore } from '../../src/storage/mongodb/mongodb_store.ts';
import { openStore } from '../../src/storage/open.ts';
import { runCli } from '../helpers/cli.ts';
import { dropDatabase, startMongo } from '../helpers/mongodb.ts';
import { startWireCounter } from '../helpers/mongo_wire_counter.ts';
import { freePort } from '../helpers/server.ts';
import { CAPABILITIES, runConformance } from './conformance.ts';

const mongo = await startMongo();
after(() => mongo.dispose());

/** A store on a database of its own; closing it drops the database on a shared server. */
async function open(): Promise<MongoStore> {
  const uri = mongo.uri();
  const store = new MongoStore({ uri, timeoutMs: 3000 });
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    if (!mongo.local) await dropDatabase(uri);
  };
  return store;
}

runConformance(mongo.local ? 'mongodb (FerretDB)' : 'mongodb (TEST_MONGODB_URI)', { open, capabilities: CAPABILITIES });

const quietLogger = () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = (level: string) => (obj: object, msg?: string) => void lines.push({ level, ...obj, msg });
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } as never };
};

describe('mongodb specifics', () => {
  it('an unreachable server is StoreUnavailableError within the timeout, logged once as unreachable', async () => {
    const { lines, logger } = quietLogger();
    const store = new MongoStore({ uri: `mongodb://127.0.0.1:${await freePort()}/nothing`, timeoutMs: 1000, logger });
    try {
      assert.equal(await store.start(), false);
      await assert.rejects(store.find('Client', 'x'), { code: 'ERR_STORE_UNAVAILABLE' });
      await assert.rejects(store.consume('AuthorizationCode', 'x'), { code: 'ERR_STORE_UNAVAILABLE' });
      await assert.rejects(store.ping(), { code: 'ERR_STORE_UNAVAILABLE' });
      const down = lines.filter((l) => l.event === 'store_unavailable');
      assert.equal(down.length, 1);
      assert.equal(down[0]!.problem, 'unreachable');
      assert.match(String(down[0]!.msg), /unreachable/);
    } finally {
      await store.close();
    }
  });

  it('wrong credentials are logged as an authentication failure; the right ones work', async () => {
    const password = randomBytes(12).toString('hex');
    const secured = await startMongo({ auth: { database: 'gh', username: 'ghuser', password } });
    try {
      const { lines, logger } = quietLogger();
      const wrong = new MongoStore({ uri: secured.uri('gh').replace('mongodb://', 'mongodb://ghuser:not-the-password@'), timeoutMs: 2000, logger });
      assert.equal(await wrong.start(), false);
      await wrong.close();
      const down = lines.find((l) => l.event === 'store_unavailable');
      assert.equal(down?.problem, 'auth_failed');
      assert.match(String(down?.msg), /authentication failed/);
      assert.doesNotMatch(JSON.stringify(lines), /not-the-password/);

      const right = new MongoStore({ uri: secured.uri('gh').replace('mongodb://', `mongodb://ghuser:${password}@`), timeoutMs: 2000 });
      try {
        assert.equal(await right.start(), true);
        await right.upsert('Client', 'c', { client_id: 'c' });
        assert.deepEqual(await right.find('Client', 'c'), { client_id: 'c' });
      } finally {
        await right.close();
      }
    } finally {
      await secured.dispose();
    }
  });

  it('`gatehouse serve` with a malformed MONGODB_URI exits 2 naming it, without echoing the password', async () => {
    const r = await runCli(['serve'], { env: { MONGODB_URI: 'mongodb://user:s3cr3t-pw@host:notaport/db', GATEHOUSE_DATA_DIR: join(tmpdir(), `gh-bad-uri-${process.pid}`) } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /MONGODB_URI: cannot be parsed/);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cr3t-pw/);
  });

  it('a malformed URI is a configuration error naming MONGODB_URI, without echoing the password', async () => {
    await assert.rejects(openStore({ store: 'mongodb', sqliteFile: ':memory:', mongodbUri: 'mongodb://user:s3cr3t-pw@host:notaport/db' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      assert.match(err.message, /^MONGODB_URI: cannot be parsed/);
      assert.doesNotMatch(err.message, /s3cr3t-pw/);
      return true;
    });
  });

  it('takes the database name from the URI path, defaulting to gatehouse', () => {
    assert.equal(databaseName('mongodb://a:1,b:2/auth_db?replicaSet=rs0'), 'auth_db');
    assert.equal(databaseName('mongodb+srv://u:p@cluster.example.com/?retryWrites=true'), 'gatehouse');
    assert.equal(databaseName('mongodb://localhost'), 'gatehouse');
  });

  it('an expired record holding a user code does not block a new device code with that code', async () => {
    const store = await open();
    try {
      await store.upsert('DeviceCode', 'old', { userCode: 'SAME-CODE' }, 0.05);
      await new Promise((r) => setTimeout(r, 80));
      await store.upsert('DeviceCode', 'new', { userCode: 'SAME-CODE' }, 60);
      assert.deepEqual(await store.findByUserCode('DeviceCode', 'SAME-CODE'), { userCode: 'SAME-CODE' });
      await assert.rejects(store.upsert('DeviceCode', 'other', { userCode: 'SAME-CODE' }, 60), { code: 'ERR_ALREADY_EXISTS' });
    } finally {
      await store.close();
    }
  });

  it('the upserts of one turn share one bulk write; a second write of an id lands after the first; a refused document fails alone', async () => {
    const { hostname, port, pathname } = new URL(mongo.uri().replace(/^mongodb:/, 'http:'));
    const counter = await startWireCounter({ host: hostname, port: Number(port) });
    const store = new MongoStore({ uri: `mongodb://127.0.0.1:${counter.port}${pathname}`, timeoutMs: 3000 });
    try {
      await store.find('Grant', 'warm-up'); // connects and creates indexes
      const writes = (command: string) => counter.commands.filter((c) => c.command === command && c.collection === 'records').length;
      let inserts = writes('insert');
      let updates = writes('update');
      // New tokens: one insert of them all.
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.upsert('AccessToken', `t${i}`, { i }, 60)));
      assert.deepEqual([writes('insert') - inserts, writes('update') - updates], [1, 0], 'twenty new tokens in one turn: one insert command');
      for (let i = 0; i < 20; i++) assert.deepEqual(await store.find('AccessToken', `t${i}`), { i });
      // Other records (sessions, grants): one bulk update; a token id already taken is replaced.
      [inserts, updates] = [writes('insert'), writes('update')];
      await Promise.all([...Array.from({ length: 10 }, (_, i) => store.upsert('Grant', `g${i}`, { i }, 60)), store.upsert('AccessToken', 't0', { i: 'again' }, 60)]);
      assert.equal(writes('update') - updates, 2, 'one bulk update for the grants, one replacement for the taken token id');
      assert.deepEqual(await store.find('AccessToken', 't0'), { i: 'again' });
      assert.deepEqual(await store.find('Grant', 'g9'), { i: 9 });

      await Promise.all([store.upsert('Session', 's', { v: 1 }, 60), store.upsert('Session', 's', { v: 2 }, 60), store.upsert('Session', 'other', { v: 3 }, 60)]);
      assert.deepEqual(await store.find('Session', 's'), { v: 2 });

      // Two device codes with one user code in one bulk write: the unique index refuses one of them only.
      const results = await Promise.allSettled([store.upsert('DeviceCode', 'd1', { userCode: 'WXYZ-BCDF' }, 60), store.upsert('DeviceCode', 'd2', { userCode: 'WXYZ-BCDF' }, 60), store.upsert('Grant', 'g', { ok: true }, 60)]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'fulfilled', 'rejected']);
      assert.equal((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code, 'ERR_ALREADY_EXISTS');
      assert.deepEqual(await store.find('Grant', 'g'), { ok: true });
      assert.deepEqual(await store.findByUserCode('DeviceCode', 'WXYZ-BCDF'), { userCode: 'WXYZ-BCDF' });
    } finally {
      await store.close();
      await counter.close();
      if (!mongo.local) await dropDatabase(mongo.uri());
    }
  });

  it('close sends the writes already accepted before it closes the connection', async () => {
    const uri = mongo.uri();
    const store = new MongoStore({ uri, timeoutMs: 3000 });
    await store.find('Grant', 'warm-up');
    const pending = store.upsert('Grant', 'late', { a: 1 }, 60);
    await store.close();
    await pending;
    const again = new MongoStore({ uri, timeoutMs: 3000 });
    try {
      assert.deepEqual(await again.find('Grant', 'late'), { a: 1 });
    } finally {
      await again.close();
      if (!mongo.local) await dropDatabase(uri);
    }
  });

  it('two stores on separate connections to one database: one consume wins, every increment counts', async () => {
    const uri = mongo.uri();
    const a = new MongoStore({ uri, timeoutMs: 3000 });
    const b = new MongoStore({ uri, timeoutMs: 3000 });
    try {
      await a.upsert('DeviceCode', 'dc', { userCode: 'BCDF-GHJK', grantId: 'g' }, 600);
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).consume('DeviceCode', 'dc')));
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal(typeof (await b.findByUserCode('DeviceCode', 'BCDF-GHJK'))?.consumed, 'number');

      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).increment('rl:shared', 60)));
      assert.equal((await a.increment('rl:shared', 60)).count, 41);
      assert.equal((await b.increment('rl:shared', 60)).count, 42);
    } finally {
      await a.close();
      await b.close();
      if (!mongo.local) await dropDatabase(uri);
    }
  });

  it('a closed store reports itself unavailable instead of reconnecting', async () => {
    const store = await open();
    await store.ping();
    await store.close();
    await assert.rejects(store.find('Client', 'x'), { code: 'ERR_STORE_UNAVAILABLE' });
    await assert.rejects(store.ping(), { code: 'ERR_STORE_UNAVAILABLE' });
  });

  it('probes index support: FerretDB 1.x has no TTL indexes, so the sweeper runs', async () => {
    const store = await open();
    try {
      await store.ping();
      assert.ok(store.support);
      if (mongo.local) assert.deepEqual(store.support, { ttl: false, partial: false });
      else assert.equal(store.support.ttl, true);
    } finally {
      await store.close();
    }
  });

  it('exchange on FerretDB: a version claim whose holder never wrote is passed over once stale; a live one is waited for', { skip: !mongo.local && 'the claim path is FerretDB\'s' }, async () => {
    const uri = mongo.uri();
    const store = new MongoStore({ uri, timeoutMs: 1000 }); // claims go stale after 4 s
    const client = new MongoClient(uri);
    try {
      await store.upsert('DevicePoll', 'p', { interval: 5 }, 600);
      const records = client.db(databaseName(uri)).collection<{ _id: string; gen: string; xv?: number }>('records');
      const claims = client.db(databaseName(uri)).collection<{ _id: string; key: string; at: number }>('claims');
      const rec = (await records.findOne({ _id: 'DevicePoll:p' }))!;
      // A holder that claimed version 0 a minute ago and died before writing.
      await claims.insertOne({ _id: `DevicePoll:p#${rec.gen}@0`, key: 'DevicePoll:p', at: Date.now() - 60_000 });
      assert.deepEqual(await store.exchange('DevicePoll', 'p', { lastPoll: 1 }), { interval: 5 });
      assert.deepEqual(await store.exchange('DevicePoll', 'p', { lastPoll: 2 }), { interval: 5, lastPoll: 1 });
      assert.equal((await records.findOne({ _id: 'DevicePoll:p' }))!.xv, 3);
      // A fresh claim on the next version, never written: the exchange keeps waiting and fails
      // within the store timeout instead of writing over it.
      await claims.insertOne({ _id: `DevicePoll:p#${rec.gen}@3`, key: 'DevicePoll:p', at: Date.now() });
      await assert.rejects(store.exchange('DevicePoll', 'p', { lastPoll: 3 }), { code: 'ERR_STORE_UNAVAILABLE' });
      assert.equal((await store.find('DevicePoll', 'p'))!.lastPoll, 2);
    } finally {
      await client.close();
      await store.close();
    }
  });

  it('survives the server stopping and resumes by itself when it returns, losing nothing committed', { skip: !mongo.local && 'TEST_MONGODB_URI names a server this test cannot stop' }, async () => {
    const { lines, logger } = quietLogger();
    const store = new MongoStore({ uri: mongo.uri(), timeoutMs: 1000, logger });
    try {
      await store.upsert('RefreshToken', 'kept', { grantId: 'g' }, 600);
      await mongo.stop();
      await assert.rejects(store.find('RefreshToken', 'kept'), { code: 'ERR_STORE_UNAVAILABLE' });
      await assert.rejects(store.upsert('RefreshToken', 'lost', { grantId: 'g' }, 600), { code: 'ERR_STORE_UNAVAILABLE' });
      await mongo.start();
      const deadline = Date.now() + 20_000;
      let found: unknown;
      for (;;) {
        try {
          found = await store.find('RefreshToken', 'kept');
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.deepEqual(found, { grantId: 'g' });
      assert.equal(await store.consume('RefreshToken', 'kept'), true);
      assert.ok(lines.some((l) => l.event === 'store_recovered'));
    } finally {
      if (mongo.local) await mongo.start().catch(() => {});
      await store.close();
    }
  });
});
