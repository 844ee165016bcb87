import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/storage/adapter.ts';

/**
 * The suites of the storage contract, one per capability. A backend lists the ones it can pass;
 * the others are reported as skipped with the reason, so a partial backend shows what it lacks
 * instead of failing (or being silently left out). `crud` is the minimum every store must pass.
 */
export const CAPABILITIES = ['crud', 'expiry', 'lookups', 'consume', 'revocation', 'concurrency', 'counters', 'health'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface ConformanceOptions {
  /** Creates a fresh, empty store for one test. */
  open: () => Promise<Store>;
  /** The capabilities this backend opts into; must include `crud`. */
  capabilities: readonly Capability[];
}

/** Models the suites write to; a store handed to a test must hold none of them. */
const MODELS = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'Session', 'Grant', 'Client', 'Account', 'RegistrationToken', 'DevicePoll'];

async function withStore(open: () => Promise<Store>, fn: (s: Store) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    for (const model of MODELS) assert.deepEqual(await store.list(model), [], `open() must give a fresh empty store (${model} has records)`);
    await fn(store);
  } finally {
    await store.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The storage contract, run unchanged against every backend (dex's storage/conformance is the
 * model). Each test gets a fresh empty store.
 */
export function runConformance(name: string, { open, capabilities }: ConformanceOptions): void {
  if (!capabilities.includes('crud')) throw new Error(`storage conformance: ${name} must opt into crud`);
  const t = (title: string, fn: (s: Store) => Promise<void>) => it(title, () => withStore(open, fn));
  const suite = (capability: Capability, title: string, fn: () => void) =>
    describe(title, capabilities.includes(capability) ? {} : { skip: `${name} does not opt into ${capability}` }, fn);

  describe(`storage conformance: ${name}`, () => {
    suite('crud', 'CRUD', () => {
      t('find returns what upsert stored, and undefined for unknown ids', async (s) => {
        await s.upsert('AccessToken', 'a1', { jti: 'a1', grantId: 'g1', kind: 'AccessToken', nested: { x: [1, 2] } }, 60);
        assert.deepEqual(await s.find('AccessToken', 'a1'), { jti: 'a1', grantId: 'g1', kind: 'AccessToken', nested: { x: [1, 2] } });
        assert.equal(await s.find('AccessToken', 'missing'), undefined);
      });
      t('findInModels returns the live record of one id under each model that has one', async (s) => {
        await s.upsert('AccessToken', 'same', { v: 1 }, 60);
        await s.upsert('ClientCredentials', 'same', { v: 2 }, 60);
        await s.upsert('RefreshToken', 'same', { v: 3 }, 0.05);
        await s.upsert('AccessToken', 'other', { v: 4 }, 60);
        assert.equal(await s.consume('ClientCredentials', 'same'), true);
        await sleep(80);
        const found = await s.findInModels(['AccessToken', 'ClientCredentials', 'RefreshToken', 'Grant'], 'same');
        assert.deepEqual([...found.keys()].sort(), ['AccessToken', 'ClientCredentials'], 'the expired refresh token and the absent grant are left out');
        assert.deepEqual(found.get('AccessToken'), { v: 1 });
        assert.equal(found.get('ClientCredentials')!.v, 2);
        assert.equal(typeof found.get('ClientCredentials')!.consumed, 'number', 'consumption as find gives it');
        assert.deepEqual(await s.findInModels(['ClientCredentials'], 'other'), new Map());
        assert.deepEqual(await s.findInModels(['AccessToken', 'ClientCredentials'], 'missing'), new Map());
        assert.deepEqual(await s.findInModels(['AccessToken', "it's \"odd\""], 'other'), new Map([['AccessToken', { v: 4 }]]));
      });
      t('models are separate namespaces', async (s) => {
        await s.upsert('AccessToken', 'same', { v: 1 });
        await s.upsert('RefreshToken', 'same', { v: 2 });
        assert.deepEqual(await s.find('AccessToken', 'same'), { v: 1 });
        assert.deepEqual(await s.find('RefreshToken', 'same'), { v: 2 });
      });
      t('upsert replaces the payload and clears consumption', async (s) => {
        await s.upsert('Session', 's1', { uid: 'u1', v: 1 }, 60);
        assert.equal(await s.consume('Session', 's1'), true);
        await s.upsert('Session', 's1', { uid: 'u1', v: 2 }, 60);
        assert.deepEqual(await s.find('Session', 's1'), { uid: 'u1', v: 2 });
      });
      t('returned payloads are copies', async (s) => {
        await s.upsert('Client', 'c1', { client_id: 'c1', redirect_uris: ['https://a'] });
        const got = await s.find('Client', 'c1');
        (got!.redirect_uris as string[]).push('https://evil');
        assert.deepEqual((await s.find('Client', 'c1'))!.redirect_uris, ['https://a']);
      });
      t('destroy removes one record only', async (s) => {
        await s.upsert('Grant', 'g1', { a: 1 });
        await s.upsert('Grant', 'g2', { a: 2 });
        await s.destroy('Grant', 'g1');
        await s.destroy('Grant', 'never-existed');
        assert.equal(await s.find('Grant', 'g1'), undefined);
        assert.deepEqual(await s.find('Grant', 'g2'), { a: 2 });
      });
      t('insert refuses an existing live id and accepts a new one', async (s) => {
        assert.equal(await s.insert('Account', 'alice', { n: 1 }), true);
        assert.equal(await s.insert('Account', 'alice', { n: 2 }), false);
        assert.deepEqual(await s.find('Account', 'alice'), { n: 1 });
      });
      t('list returns live records of one model ordered by id, honouring limit', async (s) => {
        await s.upsert('Client', 'b', { client_id: 'b' });
        await s.upsert('Client', 'a', { client_id: 'a' });
        await s.upsert('Client', 'c', { client_id: 'c' }, 0.05);
        await s.upsert('Account', 'x', { x: 1 });
        await sleep(80);
        assert.deepEqual((await s.list('Client')).map((r) => r.id), ['a', 'b']);
        assert.deepEqual((await s.list('Client', { limit: 1 })).map((r) => r.id), ['a']);
        assert.deepEqual((await s.list('Nothing')), []);
      });
      t('exchange sets fields of a live record and returns the payload as it was', async (s) => {
        await s.upsert('DevicePoll', 'p1', { clientId: 'c', interval: 5 }, 60);
        assert.deepEqual(await s.exchange('DevicePoll', 'p1', { lastPoll: 1000 }), { clientId: 'c', interval: 5 });
        assert.deepEqual(await s.exchange('DevicePoll', 'p1', { lastPoll: 2000, interval: 10 }), { clientId: 'c', interval: 5, lastPoll: 1000 });
        assert.deepEqual(await s.find('DevicePoll', 'p1'), { clientId: 'c', interval: 10, lastPoll: 2000 });
        assert.equal(await s.exchange('DevicePoll', 'missing', { lastPoll: 1 }), undefined);
        assert.equal(await s.find('DevicePoll', 'missing'), undefined, 'exchange never creates a record');
        // An upsert replaces the whole payload, exchanged fields included.
        await s.upsert('DevicePoll', 'p1', { clientId: 'c', interval: 5 }, 60);
        assert.deepEqual(await s.find('DevicePoll', 'p1'), { clientId: 'c', interval: 5 });
        await s.destroy('DevicePoll', 'p1');
      });
      t('exchange keeps consumption and refuses indexed or non-plain field names', async (s) => {
        await s.upsert('DeviceCode', 'd1', { userCode: 'BCDF-GHJK', grantId: 'g' }, 60);
        assert.equal(await s.consume('DeviceCode', 'd1'), true);
        const before = await s.exchange('DeviceCode', 'd1', { note: 'x' });
        assert.equal(typeof before!.consumed, 'number');
        assert.equal(await s.consume('DeviceCode', 'd1'), false);
        assert.equal((await s.findByUserCode('DeviceCode', 'BCDF-GHJK'))!.note, 'x');
        for (const fields of [{ userCode: 'X' }, { grantId: 'h' }, { uid: 'u' }, { 'a.b': 1 }, { $set: 1 }]) {
          await assert.rejects(s.exchange('DeviceCode', 'd1', fields), TypeError, JSON.stringify(fields));
        }
        assert.equal((await s.find('DeviceCode', 'd1'))!.grantId, 'g');
        await s.destroy('DeviceCode', 'd1');
      });
      t('unicode and large payloads round-trip', async (s) => {
        const big = 'x'.repeat(200_000);
        await s.upsert('Client', 'ü-ñ-日本', { client_name: 'Ünïcødé 日本 <script>', big });
        assert.deepEqual(await s.find('Client', 'ü-ñ-日本'), { client_name: 'Ünïcødé 日本 <script>', big });
      });
    });

    suite('expiry', 'expiry', () => {
      t('expired records are invisible to every lookup', async (s) => {
        await s.upsert('DeviceCode', 'd1', { userCode: 'ABCD-EFGH', uid: 'u1', grantId: 'g1' }, 0.05);
        await sleep(80);
        assert.equal(await s.find('DeviceCode', 'd1'), undefined);
        assert.equal(await s.findByUserCode('DeviceCode', 'ABCD-EFGH'), undefined);
        assert.equal(await s.findByUid('DeviceCode', 'u1'), undefined);
        assert.equal(await s.consume('DeviceCode', 'd1'), false);
        assert.equal(await s.exchange('DeviceCode', 'd1', { lastPoll: 1 }), undefined);
      });
      t('exchange keeps the expiry', async (s) => {
        await s.upsert('DevicePoll', 'short', { interval: 5 }, 0.2);
        assert.deepEqual(await s.exchange('DevicePoll', 'short', { lastPoll: 1 }), { interval: 5 });
        await sleep(250);
        assert.equal(await s.find('DevicePoll', 'short'), undefined);
        assert.equal(await s.exchange('DevicePoll', 'short', { lastPoll: 2 }), undefined);
      });
      t('an expired id can be inserted again', async (s) => {
        await s.insert('RegistrationToken', 't1', { n: 1 }, 0.05);
        await sleep(80);
        assert.equal(await s.insert('RegistrationToken', 't1', { n: 2 }, 60), true);
        assert.deepEqual(await s.find('RegistrationToken', 't1'), { n: 2 });
      });
      t('records without expiry stay; purgeExpired removes only expired ones', async (s) => {
        await s.upsert('Client', 'forever', { a: 1 });
        await s.upsert('AccessToken', 'short', { a: 2 }, 0.05);
        await s.upsert('AccessToken', 'long', { a: 3 }, 3600);
        await sleep(80);
        const purged = await s.purgeExpired();
        assert.ok(purged >= 1);
        assert.deepEqual(await s.find('Client', 'forever'), { a: 1 });
        assert.deepEqual(await s.find('AccessToken', 'long'), { a: 3 });
      });
    });

    suite('lookups', 'secondary lookups', () => {
      t('findByUserCode and findByUid find the right model and record', async (s) => {
        await s.upsert('DeviceCode', 'd1', { userCode: 'BCDF-GHJK', grantId: 'g' }, 600);
        await s.upsert('DeviceCode', 'd2', { userCode: 'LMNP-QRST', grantId: 'g' }, 600);
        await s.upsert('Session', 's1', { uid: 'uid-1' }, 600);
        assert.equal((await s.findByUserCode('DeviceCode', 'LMNP-QRST'))!.userCode, 'LMNP-QRST');
        assert.equal(await s.findByUserCode('DeviceCode', 'lmnp-qrst'), undefined);
        assert.equal(await s.findByUserCode('Session', 'BCDF-GHJK'), undefined);
        assert.deepEqual(await s.findByUid('Session', 'uid-1'), { uid: 'uid-1' });
        assert.equal(await s.findByUid('Session', 'uid-2'), undefined);
      });
      t('lookups reflect updates of the indexed field', async (s) => {
        await s.upsert('Session', 's1', { uid: 'old' }, 600);
        await s.upsert('Session', 's1', { uid: 'new' }, 600);
        assert.equal(await s.findByUid('Session', 'old'), undefined);
        assert.deepEqual(await s.findByUid('Session', 'new'), { uid: 'new' });
      });
      t('lookups include the consumed mark', async (s) => {
        await s.upsert('DeviceCode', 'd1', { userCode: 'WXYZ-BCDF' }, 600);
        await s.consume('DeviceCode', 'd1');
        assert.equal(typeof (await s.findByUserCode('DeviceCode', 'WXYZ-BCDF'))!.consumed, 'number');
      });
    });

    suite('consume', 'consume', () => {
      t('marks the record with an epoch-seconds timestamp', async (s) => {
        await s.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
        const before = Math.floor(Date.now() / 1000);
        assert.equal(await s.consume('AuthorizationCode', 'c1'), true);
        const consumed = (await s.find('AuthorizationCode', 'c1'))!.consumed as number;
        assert.ok(consumed >= before && consumed <= before + 2);
      });
      t('a second consume and a consume of a missing record return false', async (s) => {
        await s.upsert('RefreshToken', 'r1', { grantId: 'g1' }, 60);
        assert.equal(await s.consume('RefreshToken', 'r1'), true);
        assert.equal(await s.consume('RefreshToken', 'r1'), false);
        assert.equal(await s.consume('RefreshToken', 'nope'), false);
      });
      t('of 20 concurrent consumes exactly one wins', async (s) => {
        await s.upsert('AuthorizationCode', 'race', { grantId: 'g' }, 60);
        const results = await Promise.all(Array.from({ length: 20 }, () => s.consume('AuthorizationCode', 'race')));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal(typeof (await s.find('AuthorizationCode', 'race'))!.consumed, 'number');
      });
    });

    suite('revocation', 'revokeByGrantId', () => {
      t('removes every model kind of that grant and nothing else', async (s) => {
        for (const model of ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'Grant', 'BackchannelAuthenticationRequest']) {
          await s.upsert(model, `${model}-1`, { grantId: 'doomed', userCode: model === 'DeviceCode' ? 'AAAA-BBBB' : undefined }, 600);
          await s.upsert(model, `${model}-2`, { grantId: 'kept' }, 600);
        }
        await s.revokeByGrantId('doomed');
        for (const model of ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'Grant', 'BackchannelAuthenticationRequest']) {
          assert.equal(await s.find(model, `${model}-1`), undefined, model);
          assert.deepEqual(await s.find(model, `${model}-2`), { grantId: 'kept' }, model);
        }
        assert.equal(await s.findByUserCode('DeviceCode', 'AAAA-BBBB'), undefined);
      });
    });

    suite('concurrency', 'concurrency', () => {
      t('parallel upserts of distinct ids all land', async (s) => {
        await Promise.all(Array.from({ length: 200 }, (_, i) => s.upsert('AccessToken', `t${i}`, { i, grantId: `g${i % 7}` }, 600)));
        const found = await Promise.all(Array.from({ length: 200 }, (_, i) => s.find('AccessToken', `t${i}`)));
        assert.ok(found.every((f, i) => f?.i === i));
      });
      t('parallel upserts of one id leave one complete payload', async (s) => {
        await Promise.all(Array.from({ length: 50 }, (_, i) => s.upsert('Session', 'same', { uid: `u${i}`, i }, 600)));
        const got = (await s.find('Session', 'same'))!;
        assert.equal(got.uid, `u${got.i as number}`);
        assert.deepEqual(await s.findByUid('Session', got.uid as string), got);
      });
      t('concurrent exchanges of one record are serialised: each returns what the one before it wrote', async (s) => {
        await s.upsert('DevicePoll', 'race', { clientId: 'c', lastPoll: -1 }, 600);
        const n = 12;
        const before = await Promise.all(Array.from({ length: n }, (_, i) => s.exchange('DevicePoll', 'race', { lastPoll: i })));
        const seen = before.map((p) => p!.lastPoll as number);
        const last = (await s.find('DevicePoll', 'race'))!.lastPoll as number;
        // A chain -1 → … → last: every value written is returned to exactly one later caller,
        // except the last one, which stays. A lost update shows as a value returned twice.
        assert.deepEqual([...seen, last].sort((a, b) => a - b), Array.from({ length: n + 1 }, (_, i) => i - 1));
      });
      t('of concurrent inserts of one id exactly one wins', async (s) => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.insert('Account', 'bob', { i })));
        assert.equal(results.filter(Boolean).length, 1);
      });
    });

    suite('counters', 'counters', () => {
      t('increment counts within a window and restarts after it', async (s) => {
        const a = await s.increment('rl:ip:1', 0.1);
        const b = await s.increment('rl:ip:1', 0.1);
        const other = await s.increment('rl:ip:2', 0.1);
        assert.deepEqual([a.count, b.count, other.count], [1, 2, 1]);
        assert.equal(a.resetAt, b.resetAt);
        await sleep(130);
        assert.equal((await s.increment('rl:ip:1', 0.1)).count, 1);
      });
      t('a window ending later than a window started now could (clock set back, window shortened) starts again', async (s) => {
        assert.equal((await s.increment('rl:stretched', 3600, 5)).count, 5);
        const again = await s.increment('rl:stretched', 60);
        assert.equal(again.count, 1);
        assert.ok(again.resetAt <= Date.now() + 60_000);
        assert.equal((await s.increment('rl:stretched', 60)).count, 2, 'and counts on from there');
      });
      t('increment adds a batch (by) and reads with by 0', async (s) => {
        assert.equal((await s.increment('rl:batch', 60, 40)).count, 40);
        assert.equal((await s.increment('rl:batch', 60)).count, 41);
        assert.equal((await s.increment('rl:batch', 60, 0)).count, 41);
        await Promise.all([s.increment('rl:batch', 60, 5), s.increment('rl:batch', 60, 7)]);
        assert.equal((await s.increment('rl:batch', 60, 0)).count, 53);
      });
      t('concurrent increments are all counted', async (s) => {
        await Promise.all(Array.from({ length: 50 }, () => s.increment('rl:burst', 60)));
        assert.equal((await s.increment('rl:burst', 60)).count, 51);
      });
    });

    suite('health', 'health', () => {
      t('ping succeeds on a working store and leaves nothing behind', async (s) => {
        await s.ping();
        assert.deepEqual(await s.list('_health'), []);
      });
    });
  });
}
