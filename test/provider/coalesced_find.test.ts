import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { coalescedFind } from '../../src/provider/adapter_bridge.ts';
import type { Store } from '../../src/storage/adapter.ts';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';

/** A memory store that counts its queries and can be made to fail. */
function counting() {
  const store = new MemoryStore();
  const calls: string[] = [];
  let failing = false;
  const proxy = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function' || !['find', 'findInModels'].includes(String(name))) return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return failing ? Promise.reject(new Error('store down')) : (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
  return { store, proxy, calls, fail: () => (failing = true) };
}

describe('coalesced token lookups (introspection on MongoDB)', () => {
  test("lookups of one id started together are one query, each caller getting its model's record", async () => {
    const { store, proxy, calls } = counting();
    await store.upsert('ClientCredentials', 'tok', { jti: 'tok', clientId: 'svc' }, 60);
    const find = coalescedFind(proxy);
    const [asAccess, asClientCredentials] = await Promise.all([find('AccessToken', 'tok'), find('ClientCredentials', 'tok')]);
    assert.equal(asAccess, undefined);
    assert.deepEqual(asClientCredentials, { jti: 'tok', clientId: 'svc' });
    assert.deepEqual(calls, ['findInModels']);
  });

  test('a lookup alone is a plain find; other ids are not mixed in', async () => {
    const { store, proxy, calls } = counting();
    await store.upsert('AccessToken', 'a', { v: 1 }, 60);
    await store.upsert('AccessToken', 'b', { v: 2 }, 60);
    const find = coalescedFind(proxy);
    assert.deepEqual(await Promise.all([find('AccessToken', 'a'), find('AccessToken', 'b')]), [{ v: 1 }, { v: 2 }]);
    assert.deepEqual(calls, ['find', 'find']);
  });

  test('two callers of the same model and id get copies, not one shared object', async () => {
    const { store, proxy } = counting();
    await store.upsert('AccessToken', 'a', { v: 1, nested: { x: 1 } }, 60);
    const find = coalescedFind(proxy);
    const [one, two] = await Promise.all([find('AccessToken', 'a'), find('AccessToken', 'a'), find('ClientCredentials', 'a')]);
    assert.deepEqual(one, two);
    (one!.nested as { x: number }).x = 2;
    assert.equal((two!.nested as { x: number }).x, 1);
  });

  test("a store that fails rejects every caller of the query with the store's error", async () => {
    const { proxy, fail } = counting();
    fail();
    const find = coalescedFind(proxy);
    const results = await Promise.allSettled([find('AccessToken', 'x'), find('ClientCredentials', 'x')]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.equal(((results[0] as PromiseRejectedResult).reason as Error).message, 'store down');
  });
});
