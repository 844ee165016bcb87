import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cacheClients, EXTERNAL_CHECK_MS } from '../../src/clients/client_cache.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_KEPT_ABSENT_ID } from '../../src/storage/adapter.ts';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite_store.ts';

/** A memory store counting the reads of the Client model, and a clock the test moves. */
function setup(ttlSeconds = 5) {
  const backing = new MemoryStore();
  let reads = 0;
  const find = backing.find.bind(backing);
  backing.find = (model, id) => {
    if (model === 'Client') reads += 1;
    return find(model, id);
  };
  let clock = 1_000_000;
  const store = cacheClients(backing, { ttlSeconds, now: () => clock });
  return { backing, store, reads: () => reads, advance: (ms: number) => (clock += ms) };
}

describe('cacheClients', () => {
  it('reads a client from the store once per TTL, sharing one deep-frozen record no caller can change', async () => {
    const { store, backing, reads, advance } = setup();
    await backing.upsert('Client', 'c1', { client_id: 'c1', client_name: 'one', redirect_uris: ['https://a.example/cb'], jwks: { keys: [{ kty: 'EC' }] } });
    const a = await store.find('Client', 'c1');
    const b = await store.find('Client', 'c1');
    assert.deepEqual(a, { client_id: 'c1', client_name: 'one', redirect_uris: ['https://a.example/cb'], jwks: { keys: [{ kty: 'EC' }] } });
    assert.equal(a, b);
    assert.throws(() => {
      a!.client_name = 'changed by a caller';
    }, TypeError);
    assert.throws(() => (a!.redirect_uris as string[]).push('https://evil.example/cb'), TypeError);
    assert.throws(() => {
      ((a!.jwks as { keys: Array<Record<string, unknown>> }).keys[0]!).kty = 'RSA';
    }, TypeError);
    assert.equal((await store.find('Client', 'c1'))!.client_name, 'one');
    assert.equal(reads(), 1);
    advance(5_001);
    await store.find('Client', 'c1');
    assert.equal(reads(), 2);
  });

  it('a change through this store applies at once; one made elsewhere within the TTL', async () => {
    const { store, backing, advance } = setup();
    await store.upsert('Client', 'c1', { client_id: 'c1', client_name: 'one' });
    assert.equal((await store.find('Client', 'c1'))!.client_name, 'one');
    await store.upsert('Client', 'c1', { client_id: 'c1', client_name: 'two' });
    assert.equal((await store.find('Client', 'c1'))!.client_name, 'two', 'update here: at once');
    await store.destroy('Client', 'c1');
    assert.equal(await store.find('Client', 'c1'), undefined, 'delete here: at once');
    assert.equal(await store.insert('Client', 'c1', { client_id: 'c1', client_name: 'three' }), true);
    assert.equal((await store.find('Client', 'c1'))!.client_name, 'three', 'insert here: at once');

    await backing.destroy('Client', 'c1'); // another replica, or `gatehouse clients`
    assert.equal((await store.find('Client', 'c1'))!.client_name, 'three', 'within the TTL the old metadata may serve');
    advance(5_001);
    assert.equal(await store.find('Client', 'c1'), undefined, 'after the TTL the deletion applies');
  });

  it('an unknown client_id is remembered too, and concurrent misses share one read', async () => {
    const { store, reads } = setup();
    await Promise.all(Array.from({ length: 10 }, () => store.find('Client', 'nobody')));
    assert.equal(await store.find('Client', 'nobody'), undefined);
    assert.equal(reads(), 1);
  });

  it('an unknown client_id longer than MAX_KEPT_ABSENT_ID is not remembered (any text a request sends is looked up)', async () => {
    const { store, reads } = setup();
    const long = 'x'.repeat(MAX_KEPT_ABSENT_ID + 1);
    assert.equal(await store.find('Client', long), undefined);
    assert.equal(await store.find('Client', long), undefined);
    assert.equal(reads(), 2);
    const longest = 'y'.repeat(MAX_KEPT_ABSENT_ID);
    await store.find('Client', longest);
    await store.find('Client', longest);
    assert.equal(reads(), 3);
  });

  it('a read in flight while the client changes here is not kept', async () => {
    const { store, backing, reads } = setup();
    await backing.upsert('Client', 'c1', { client_id: 'c1', client_name: 'old' });
    const stale = store.find('Client', 'c1');
    await store.upsert('Client', 'c1', { client_id: 'c1', client_name: 'new' });
    await stale;
    assert.equal((await store.find('Client', 'c1'))!.client_name, 'new');
    assert.equal(reads(), 2);
  });

  it('SQLite: a change committed by another process on the same file (gatehouse clients) applies within EXTERNAL_CHECK_MS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-client-cache-'));
    const server = new SqliteStore(join(dir, 'g.db'));
    const cli = new SqliteStore(join(dir, 'g.db'));
    try {
      let clock = 1_000_000;
      const store = cacheClients(server, { ttlSeconds: 300, now: () => clock });
      await store.upsert('Client', 'c1', { client_id: 'c1', client_secret: 'old' });
      assert.equal((await store.find('Client', 'c1'))!.client_secret, 'old');
      await cli.upsert('Client', 'c1', { client_id: 'c1', client_secret: 'rotated' });
      clock += EXTERNAL_CHECK_MS;
      assert.equal((await store.find('Client', 'c1'))!.client_secret, 'rotated');
      await cli.destroy('Client', 'c1');
      clock += EXTERNAL_CHECK_MS;
      assert.equal(await store.find('Client', 'c1'), undefined);
    } finally {
      await server.close();
      await cli.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('other models pass through uncached; ttl 0 returns the store itself', async () => {
    const { store, backing } = setup();
    await store.upsert('Session', 's', { a: 1 });
    await backing.upsert('Session', 's', { a: 2 });
    assert.deepEqual(await store.find('Session', 's'), { a: 2 });
    assert.equal(cacheClients(backing, { ttlSeconds: 0 }), backing);
  });
});
