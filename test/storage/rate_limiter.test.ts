import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';
import { RateLimiter } from '../../src/storage/rate_limiter.ts';

describe('RateLimiter', () => {
  it('allows up to the limit per key, then refuses with a Retry-After within the window', async () => {
    const store = new MemoryStore();
    const rl = new RateLimiter(store, { name: 't', limit: 3, windowSeconds: 30 });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await rl.hit('1.2.3.4'));
    assert.deepEqual(results.map((r) => r.allowed), [true, true, true, false, false]);
    assert.ok(results[4]!.retryAfter > 0 && results[4]!.retryAfter <= 30);
    assert.equal((await rl.hit('5.6.7.8')).allowed, true);
    await store.close();
  });
  it('resets after the window', async () => {
    const store = new MemoryStore();
    const rl = new RateLimiter(store, { name: 't', limit: 1, windowSeconds: 0.1 });
    assert.equal((await rl.hit('k')).allowed, true);
    assert.equal((await rl.hit('k')).allowed, false);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await rl.hit('k')).allowed, true);
    await store.close();
  });
});
