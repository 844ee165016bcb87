import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { Context, Next } from 'koa';
import { PACE_MODEL, paceKey, PollPaces } from '../../src/features/device_flow/poll_paces.ts';
import { announceInterval, pacePolls } from '../../src/features/device_flow/polling.ts';
import { DEVICE_CODE_GRANT } from '../../src/shared/grant_types.ts';
import type { Store } from '../../src/storage/adapter.ts';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite_store.ts';

// The pace middleware reads only what oidc-provider leaves on the koa context (ctx.oidc and the
// answer), so these tests give it that and nothing else; the e2e tests run it in the server.

const DEVICE_CODE = 'device-code-of-the-test';
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

function deviceContext(path: string, oidc: Record<string, unknown>, clientId = 'cli'): Context {
  return { method: 'POST', path, status: 404, body: undefined, oidc: { client: { clientId }, provider: { emit() {} }, ...oidc } } as unknown as Context;
}

/** A replica's two device-flow middlewares on `store`, with its own paces and the shared clock. */
function replica(store: Store, clock: { now: number }) {
  const paces = new PollPaces(store, { now: () => clock.now });
  open.push(paces);
  const options = { paces, interval: 5, deviceCodeTtl: 600, now: () => clock.now };
  const announce = announceInterval(options);
  const pace = pacePolls(options);
  return {
    paces,
    async start(deviceCode = DEVICE_CODE) {
      const ctx = deviceContext('/device/auth', { route: 'device_authorization' });
      await announce(ctx, (async () => {
        ctx.status = 200;
        ctx.body = { device_code: deviceCode };
      }) as Next);
      return (ctx.body as { interval: number }).interval;
    },
    /** One poll that oidc-provider answers authorization_pending after `processingMs`; the answer sent. */
    async poll(options: { processingMs?: number; clientId?: string; deviceCode?: string } = {}) {
      const ctx = deviceContext('/token', { route: 'token', params: { grant_type: DEVICE_CODE_GRANT, device_code: options.deviceCode ?? DEVICE_CODE } }, options.clientId);
      await pace(ctx, (async () => {
        clock.now += options.processingMs ?? 0;
        ctx.status = 400;
        ctx.body = { error: 'authorization_pending' };
      }) as Next);
      return (ctx.body as { error: string; error_description?: string }).error;
    },
  };
}

/**
 * A client polling every 3 s against a 5 s interval, its polls alternating between replicas A and
 * B (each flushed before the next poll): B reads A's poll and answers slow_down, then A reads B's
 * poll and the 10 s interval B set and answers slow_down too.
 */
async function alternatingFastPolls(a: ReturnType<typeof replica>, b: ReturnType<typeof replica>, clock: { now: number }): Promise<void> {
  await a.start();
  assert.equal(await a.poll(), 'authorization_pending');
  await a.paces.flush();
  clock.now += 3000;
  assert.equal(await b.poll(), 'slow_down', "B read A's poll 3 s ago");
  await b.paces.flush();
  clock.now += 3000;
  assert.equal(await a.poll(), 'slow_down', "A read B's poll and the 10 s interval");
}

/** Counts the store calls a replica makes, by method. */
function counted(store: Store): { store: Store; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const proxy = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(name)] = (calls[String(name)] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

describe('device poll pacing', () => {
  test("a poll's time is its arrival: oidc-provider's own processing time is not counted against the client", async () => {
    const clock = { now: 1_000_000 };
    const r = replica(new MemoryStore(), clock);
    assert.equal(await r.start(), 5);
    // The first poll arrives at 0 s and takes 3 s to answer (a server under load).
    assert.equal(await r.poll({ processingMs: 3000 }), 'authorization_pending');
    // The client sends the next one 5 s after the first was sent: on time, though only 2 s after
    // the first one's answer.
    clock.now += 2000;
    assert.equal(await r.poll(), 'authorization_pending');
    // 1 s later: too soon, and the interval is now 10 s.
    clock.now += 1000;
    assert.equal(await r.poll(), 'slow_down');
    clock.now += 6000;
    assert.equal(await r.poll(), 'slow_down', '6 s after a slow_down is sooner than the new 10 s interval');
    clock.now += 15_000;
    assert.equal(await r.poll(), 'authorization_pending');
  });

  test('a clock set back does not slow down a client that keeps its interval; pacing goes on from the new time', async () => {
    const clock = { now: 1_000_000 };
    const r = replica(new MemoryStore(), clock);
    await r.start();
    assert.equal(await r.poll(), 'authorization_pending');
    await r.paces.flush();
    clock.now += 5000 - 60_000; // the client on time, the host's clock set back a minute meanwhile
    assert.equal(await r.poll(), 'authorization_pending');
    // The store still held the poll from before the step: flushes (every second, more often than
    // polls) must not bring it back.
    for (let i = 0; i < 3; i += 1) await r.paces.flush();
    clock.now += 5000;
    assert.equal(await r.poll(), 'authorization_pending');
    for (let i = 0; i < 3; i += 1) await r.paces.flush();
    clock.now += 1000;
    assert.equal(await r.poll(), 'slow_down', 'polling faster is still refused');
    await r.paces.flush();
    clock.now -= 500;
    assert.equal(await r.poll(), 'slow_down', 'a poll a moment out of order is not a clock set back');
  });

  test('another client polling the code moves nothing: the owner keeps its pace', async () => {
    const clock = { now: 1_000_000 };
    const r = replica(new MemoryStore(), clock);
    await r.start();
    assert.equal(await r.poll(), 'authorization_pending');
    clock.now += 5000;
    assert.equal(await r.poll({ clientId: 'intruder' }), 'authorization_pending', 'oidc-provider answers the intruder; it is not paced');
    clock.now += 100;
    assert.equal(await r.poll(), 'authorization_pending', "the intruder's poll did not count as the owner's");
  });

  test('a code with no pace record (not announced, or expired) is not paced', async () => {
    const clock = { now: 1_000_000 };
    const r = replica(new MemoryStore(), clock);
    assert.equal(await r.poll(), 'authorization_pending');
    assert.equal(await r.poll(), 'authorization_pending');
    assert.equal(r.paces.size, 0);
  });

  test('on SQLite an on-time poll makes no store call; the flush writes every polled code in one exchange each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-pace-'));
    const sqlite = new SqliteStore(join(dir, 'db.sqlite'));
    open.push({ close: async () => { await sqlite.close(); rmSync(dir, { recursive: true, force: true }); } });
    const { store, calls } = counted(sqlite);
    const clock = { now: Date.now() };
    const r = replica(store, clock);
    for (const code of ['a', 'b', 'c']) await r.start(code);
    const before = { ...calls };
    for (let round = 0; round < 3; round += 1) {
      for (const code of ['a', 'b', 'c']) assert.equal(await r.poll({ deviceCode: code }), 'authorization_pending');
      clock.now += 5000;
    }
    const onPath = Object.entries(calls).filter(([name, n]) => name !== 'externalVersion' && n !== before[name]);
    assert.deepEqual(onPath, [], 'nine polls, no store read or write');
    await r.paces.flush();
    assert.equal((calls.exchange ?? 0) - (before.exchange ?? 0), 3, 'one exchange per polled code');
    const stored = await sqlite.find(PACE_MODEL, paceKey('b'));
    assert.equal(stored?.lastPoll, clock.now - 5000);
  });

  test('on SQLite a commit by another process makes the next poll read the record again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-pace-'));
    const file = join(dir, 'db.sqlite');
    const [one, two] = [new SqliteStore(file), new SqliteStore(file)];
    open.push({ close: async () => { await one.close(); await two.close(); rmSync(dir, { recursive: true, force: true }); } });
    const clock = { now: Date.now() };
    // B (another process on the same file) reads the record on its first poll; A's copy is stale
    // once B has committed to the file (data_version), so A reads B's poll and the longer interval.
    await alternatingFastPolls(replica(one, clock), replica(two, clock), clock);
  });

  test('replicas on one store see each other\'s polls within the flush interval, and slow_down never comes for a client on time', async () => {
    const store = new MemoryStore();
    const clock = { now: 1_000_000 };
    const a = replica(store, clock);
    const b = replica(store, clock);
    // Here A's copy is stale because it is older than the flush interval (a store that cannot say
    // whether another process wrote).
    await alternatingFastPolls(a, b, clock);
    await a.paces.flush();

    // A client keeping to its interval across both replicas is never slowed down.
    const c = 'second-code';
    await a.start(c);
    for (let i = 0; i < 6; i += 1) {
      const on = i % 2 === 0 ? a : b;
      assert.equal(await on.poll({ deviceCode: c }), 'authorization_pending', `poll ${i}`);
      await on.paces.flush();
      clock.now += 5000;
    }
  });

  test('a flush learns a later poll or a longer interval another replica wrote, and a record gone from the store is forgotten', async () => {
    const store = new MemoryStore();
    const clock = { now: 1_000_000 };
    const a = replica(store, clock);
    await a.start();
    assert.equal(await a.poll(), 'authorization_pending');
    const key = paceKey(DEVICE_CODE);
    // Another replica wrote a longer interval and a later poll before A's flush.
    await store.exchange(PACE_MODEL, key, { interval: 10, lastPoll: clock.now + 1000 });
    await a.paces.flush();
    assert.deepEqual({ ...(await store.find(PACE_MODEL, key)) }.interval, 5, "A's flush wrote its own values first");
    await a.paces.flush();
    const stored = await store.find(PACE_MODEL, key);
    assert.equal(stored?.interval, 10, 'the next flush writes back the larger interval');
    assert.equal(stored?.lastPoll, clock.now + 1000);
    // The record gone (the code expired or was removed): a poll once the copy is stale reads that, is not paced, and the code is forgotten.
    await store.destroy(PACE_MODEL, key);
    clock.now += 1000;
    assert.equal(await a.poll(), 'authorization_pending');
    assert.equal(a.paces.size, 0);
    // So is a code polled here whose record goes before the flush.
    await a.start('third-code');
    assert.equal(await a.poll({ deviceCode: 'third-code' }), 'authorization_pending');
    await store.destroy(PACE_MODEL, paceKey('third-code'));
    await a.paces.flush();
    assert.equal(a.paces.size, 0, 'the flush forgets a code whose record is gone');
  });

  test('close writes the paces polled since the last flush (the server calls it on shutdown, before the store closes)', async () => {
    const store = new MemoryStore();
    const clock = { now: 1_000_000 };
    const r = replica(store, clock);
    await r.start();
    clock.now += 5000;
    assert.equal(await r.poll(), 'authorization_pending');
    assert.equal((await store.find(PACE_MODEL, paceKey(DEVICE_CODE)))?.lastPoll, undefined, 'not written on the request path');
    await r.paces.close();
    assert.equal((await store.find(PACE_MODEL, paceKey(DEVICE_CODE)))?.lastPoll, clock.now);
  });

  test('the store down: polls of known codes are paced on, and the flush catches up when it answers', async () => {
    const memory = new MemoryStore();
    let down = false;
    const store = new Proxy(memory, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => (down && name !== 'close' ? Promise.reject(new Error('store down')) : (value as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
    const clock = { now: 1_000_000 };
    const r = replica(store, clock);
    await r.start();
    down = true;
    clock.now += 5000; // this replica's copy is older than the flush interval: the read fails, the copy is used
    assert.equal(await r.poll(), 'authorization_pending');
    clock.now += 100;
    assert.equal(await r.poll(), 'slow_down');
    await r.paces.flush();
    down = false;
    await r.paces.flush();
    const key = paceKey(DEVICE_CODE);
    assert.equal((await memory.find(PACE_MODEL, key))?.interval, 10);
  });
});
