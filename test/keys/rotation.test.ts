import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveJwks, generateSigningKey, keyState, nextTransition, type StoredKey } from '../../src/keys/key_file.ts';
import { prune, rotate } from '../../src/keys/rotation.ts';

const T = 1_800_000_000;

describe('signing key rotation', () => {
  it('a plain JWKS key is active and signs', async () => {
    const k = await generateSigningKey('ES256');
    assert.equal(keyState(k, T), 'active');
    assert.equal(effectiveJwks([k], T).keys[0]!.key_ops, undefined);
  });

  it('rotate publishes new keys first as verify-only, retires the old ones at activation', async () => {
    const old = [await generateSigningKey('RS256'), await generateSigningKey('ES256')];
    const { keys, added } = await rotate(old, 600, T);
    assert.equal(keys.length, 4);
    assert.deepEqual(keys.slice(0, 2).map((k) => k.kid), added);
    assert.deepEqual(keys.slice(0, 2).map((k) => k.alg), ['RS256', 'ES256']);

    const before = effectiveJwks(keys, T);
    assert.deepEqual(before.keys.map((k) => k.key_ops), [['verify'], ['verify'], undefined, undefined], 'new keys published, old keys still sign');
    const after = effectiveJwks(keys, T + 600);
    assert.deepEqual(after.keys.map((k) => k.key_ops), [undefined, undefined, ['verify'], ['verify']], 'new keys sign, old ones only verify');
    assert.ok(after.keys.every((k) => typeof k.kid === 'string' && !('gh_activate_at' in k) && !('gh_retire_at' in k)), 'metadata stripped');
    assert.equal(nextTransition(keys, T), T + 600);
    assert.equal(nextTransition(keys, T + 600), undefined);
  });

  it('rotating twice keeps every key verifying until pruned', async () => {
    let keys: StoredKey[] = [await generateSigningKey('RS256')];
    keys = (await rotate(keys, 0, T)).keys;
    keys = (await rotate(keys, 0, T + 10)).keys;
    assert.equal(keys.length, 5);
    const states = keys.map((k) => keyState(k, T + 10));
    assert.deepEqual(states, ['active', 'active', 'retired', 'retired', 'retired']);
  });

  it('prune removes only keys retired longer than the grace period', async () => {
    const { keys } = await rotate([await generateSigningKey('RS256'), await generateSigningKey('ES256')], 0, T);
    assert.deepEqual(prune(keys, 3600, T + 100).removed, []);
    const pruned = prune(keys, 3600, T + 3600);
    assert.equal(pruned.removed.length, 2);
    assert.deepEqual(pruned.keys.map((k) => keyState(k, T + 3600)), ['active', 'active']);
  });
});
