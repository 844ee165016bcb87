import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';
import { ReplicaRateLimiter } from '../../src/storage/replica_rate_limiter.ts';
import { StoreUnavailableError } from '../../src/shared/errors.ts';

// A flush interval no test waits for: flushes are called explicitly.
const NEVER = 3_600_000;

describe('ReplicaRateLimiter', () => {
  it('one replica: exact at the limit, Retry-After within the window, keys apart, no store call per hit', async () => {
    const store = new MemoryStore();
    let calls = 0;
    const increment = store.increment.bind(store);
    store.increment = (...args) => (calls++, increment(...args));
    const rl = new ReplicaRateLimiter(store, { name: 't', limit: 3, windowSeconds: 30, flushIntervalMs: NEVER });
    const results = Array.from({ length: 5 }, () => rl.hit('1.2.3.4'));
    assert.deepEqual(results.map((r) => r.allowed), [true, true, true, false, false]);
    assert.ok(results[4]!.retryAfter >= 1 && results[4]!.retryAfter <= 30);
    assert.equal(rl.hit('5.6.7.8').allowed, true);
    assert.equal(calls, 0);
    await rl.flush();
    assert.equal(calls, 2, 'one increment per key, by the delta');
    assert.equal((await store.increment('t:1.2.3.4', 30, 0)).count, 5);
    await rl.close();
    await store.close();
  });

  it('the window restarts for a key once it has passed', () => {
    const rl = new ReplicaRateLimiter(new MemoryStore(), { name: 't', limit: 1, windowSeconds: 10, flushIntervalMs: NEVER });
    const t0 = Date.now();
    assert.equal(rl.hit('k', t0).allowed, true);
    assert.equal(rl.hit('k', t0 + 9_000).allowed, false);
    assert.equal(rl.hit('k', t0 + 10_001).allowed, true);
    void rl.close();
  });

  it('a clock set back does not stretch the window: it restarts, and Retry-After stays within it', () => {
    const rl = new ReplicaRateLimiter(new MemoryStore(), { name: 't', limit: 2, windowSeconds: 10, flushIntervalMs: NEVER });
    const t0 = 1_000_000;
    rl.hit('k', t0);
    rl.hit('k', t0);
    assert.equal(rl.hit('k', t0 + 1000).allowed, false);
    const back = t0 + 2000 - 3_600_000; // an hour back
    const result = rl.hit('k', back);
    assert.equal(result.allowed, true);
    assert.ok(result.retryAfter <= 10);
    void rl.close();
  });

  it("a clock set back also drops the other replicas' counts of the stretched store window", async () => {
    const store = new MemoryStore();
    const a = new ReplicaRateLimiter(store, { name: 't', limit: 3, windowSeconds: 10, flushIntervalMs: NEVER });
    const b = new ReplicaRateLimiter(store, { name: 't', limit: 3, windowSeconds: 10, flushIntervalMs: NEVER });
    const t0 = Date.now();
    for (let i = 0; i < 3; i += 1) a.hit('k', t0);
    await a.flush();
    b.hit('k', t0);
    await b.flush(); // b now knows a's three
    assert.equal(b.hit('k', t0 + 1000).allowed, false);
    // The store's window was opened by the real clock; b's clock now reads an hour earlier.
    const back = t0 + 2000 - 3_600_000;
    assert.equal(b.hit('k', back).allowed, true, "the others' counts belonged to a window that cannot be this one");
    await a.close();
    await b.close();
    await store.close();
  });

  it('two replicas on one store: after a flush each counts the other, so the shared limit holds', async () => {
    const store = new MemoryStore();
    const a = new ReplicaRateLimiter(store, { name: 't', limit: 10, windowSeconds: 60, flushIntervalMs: NEVER });
    const b = new ReplicaRateLimiter(store, { name: 't', limit: 10, windowSeconds: 60, flushIntervalMs: NEVER });
    for (let i = 0; i < 6; i++) assert.equal(a.hit('client').allowed, true);
    await a.flush();
    // b has not flushed yet, so it has not read a's count: its first flush does both.
    assert.equal(b.hit('client').count, 1);
    await b.flush();
    assert.equal(b.hit('client').count, 8, "b's two hits plus a's six");
    assert.equal(b.hit('client').count, 9);
    assert.equal(b.hit('client').count, 10);
    assert.equal(b.hit('client').allowed, false);
    await b.flush();
    // A key quiet on a since its last flush is refreshed by the flush after its next hit: within
    // one flush interval, which is the documented skew.
    assert.equal(a.hit('client').count, 7);
    await a.flush();
    assert.equal(a.hit('client').allowed, false, "a sees b's hits after its next flush");
    assert.equal(a.hit('client').count, 14, "a's nine and b's five");
    await Promise.all([a.close(), b.close()]);
    await store.close();
  });

  it('a store that fails keeps the local limit and sends the pending counts once it answers', async () => {
    const store = new MemoryStore();
    const increment = store.increment.bind(store);
    let down = true;
    store.increment = (...args) => (down ? Promise.reject(new StoreUnavailableError('down')) : increment(...args));
    const results: unknown[] = [];
    const rl = new ReplicaRateLimiter(store, { name: 't', limit: 2, windowSeconds: 60, flushIntervalMs: NEVER, onFlushResult: (err) => results.push(err) });
    rl.hit('k');
    rl.hit('k');
    assert.equal(rl.hit('k').allowed, false);
    await rl.flush();
    assert.ok(results[0] instanceof StoreUnavailableError);
    down = false;
    await rl.flush();
    assert.equal(results[1], undefined);
    assert.equal((await store.increment('t:k', 60, 0)).count, 3);
    await rl.close();
    await store.close();
  });

  it('a flush sends every key at once; a key whose increment fails keeps its count for the next flush', async () => {
    const store = new MemoryStore();
    const increment = store.increment.bind(store);
    let inFlight = 0;
    let most = 0;
    store.increment = async (key, ...rest) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 5));
        if (key === 't:bad') throw new StoreUnavailableError('refused');
        return await increment(key, ...rest);
      } finally {
        inFlight -= 1;
      }
    };
    const results: unknown[] = [];
    const rl = new ReplicaRateLimiter(store, { name: 't', limit: 10, windowSeconds: 60, flushIntervalMs: NEVER, onFlushResult: (err) => results.push(err) });
    for (const key of ['a', 'b', 'bad', 'c']) rl.hit(key);
    rl.hit('a');
    await rl.flush();
    assert.equal(most, 4, 'the four keys were sent together');
    assert.ok(results[0] instanceof StoreUnavailableError);
    assert.equal((await increment('t:a', 60, 0)).count, 2, 'the keys that went through are counted');
    assert.equal((await increment('t:c', 60, 0)).count, 1);
    store.increment = increment;
    await rl.flush();
    assert.equal(results[1], undefined);
    assert.equal((await store.increment('t:bad', 60, 0)).count, 1, 'the failed key was sent again');
    assert.equal((await store.increment('t:a', 60, 0)).count, 2, 'and nothing twice');
    await rl.close();
    await store.close();
  });

  it('memory stays bounded: beyond maxKeys new keys share one counter', () => {
    const rl = new ReplicaRateLimiter(new MemoryStore(), { name: 't', limit: 2, windowSeconds: 60, maxKeys: 3, flushIntervalMs: NEVER });
    for (const k of ['a', 'b', 'c']) rl.hit(k);
    assert.equal(rl.hit('d').allowed, true);
    assert.equal(rl.hit('e').allowed, true);
    assert.equal(rl.hit('f').allowed, false, 'd, e and f share the overflow counter');
    assert.equal(rl.hit('a').allowed, true, 'known keys keep their own counter');
    void rl.close();
  });
});
