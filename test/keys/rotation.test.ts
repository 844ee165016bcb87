import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import type { JWK } from 'jose';
import { signableAlgs } from '../../src/keys/key_algorithms.ts';
import { effectiveJwks, keyState, nextTransition, type StoredKey } from '../../src/keys/key_file.ts';
import { generateSigningKey } from '../../src/keys/key_generation.ts';
import { addKey, prune, rotate } from '../../src/keys/rotation.ts';

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
    assert.equal(keys.length, 3, 'an RS256-only file gets one RS256 successor per rotation');
    const states = keys.map((k) => keyState(k, T + 10));
    assert.deepEqual(states, ['active', 'retired', 'retired']);
  });

  it('rotate creates a successor of the same kind and alg for every active key, so every algorithm still signs', async () => {
    const rsaPss = { ...(generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export({ format: 'jwk' }) as JWK), kid: 'pss', alg: 'PS256', use: 'sig' };
    const rsaAny = { ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JWK), kid: 'rsa-no-alg' };
    const ed25519 = { ...(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as JWK), kid: 'ed-by-hand', alg: 'EdDSA', use: 'sig' };
    const ed448 = { ...(generateKeyPairSync('ed448').privateKey.export({ format: 'jwk' }) as JWK), kid: 'ed448' };
    const old: StoredKey[] = [
      await generateSigningKey('RS256'), rsaPss, rsaAny, await generateSigningKey('ES256'), await generateSigningKey('ES384'), await generateSigningKey('ES512'), ed25519, ed448,
      { ...(await generateSigningKey('RS256')), gh_retire_at: T - 1 },
    ];
    const { keys, added } = await rotate(old, 600, T);
    const fresh = keys.slice(0, added.length);
    assert.deepEqual(fresh.map((k) => [k.kty, k.crv, k.alg]), [
      ['RSA', undefined, 'RS256'], ['RSA', undefined, 'PS256'], ['RSA', undefined, undefined],
      ['EC', 'P-256', 'ES256'], ['EC', 'P-384', 'ES384'], ['EC', 'P-521', 'ES512'],
      ['OKP', 'Ed25519', 'EdDSA'], ['OKP', 'Ed448', undefined],
    ], 'one successor per active key kind; the retired RS256 key gets none');
    assert.equal(Buffer.from(fresh[1]!.n!, 'base64url').length * 8, 3072, 'an RSA successor keeps its modulus size');
    assert.ok(fresh.every((k) => typeof k.d === 'string' && k.use === 'sig' && !old.some((o) => o.kid === k.kid)));
    assert.deepEqual(signableAlgs(effectiveJwks(keys, T + 600)), signableAlgs(effectiveJwks(old, T)), 'after activation the same algorithms sign');
    assert.deepEqual(signableAlgs(effectiveJwks(keys.slice(added.length), T + 600)), [], 'and none of them by a retired key');
  });

  it('rotate with no active key at all starts over with RS256 and ES256', async () => {
    const { keys, added } = await rotate([{ ...(await generateSigningKey('EdDSA')), gh_retire_at: T - 1 }], 0, T);
    assert.deepEqual(keys.slice(0, added.length).map((k) => k.alg), ['RS256', 'ES256']);
  });

  it('rotate refuses an active key of a kind it cannot generate instead of retiring it without a successor', async () => {
    const secp = { ...(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'jwk' }) as JWK), kid: 'k1' };
    await assert.rejects(rotate([await generateSigningKey('RS256'), secp], 0, T), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      assert.match(err.message, /GATEHOUSE_JWKS_FILE: key k1 \(EC secp256k1\).*replace it by hand/);
      return true;
    });
  });

  it('add puts a key for another algorithm first, published now and signing after the delay', async () => {
    const old = [await generateSigningKey('RS256'), await generateSigningKey('ES256')];
    const { keys, added } = await addKey(old, 'EdDSA', 600, T);
    assert.deepEqual([keys[0]!.kid, keys[0]!.kty, keys[0]!.crv, keys[0]!.alg], [added, 'OKP', 'Ed25519', 'EdDSA']);
    assert.deepEqual(keys.slice(1), old);
    assert.deepEqual(signableAlgs(effectiveJwks(keys, T)), ['ES256', 'RS256']);
    assert.deepEqual(signableAlgs(effectiveJwks(keys, T + 600)), ['ES256', 'EdDSA', 'RS256']);
  });

  it('prune removes only keys retired longer than the grace period', async () => {
    const { keys } = await rotate([await generateSigningKey('RS256'), await generateSigningKey('ES256')], 0, T);
    assert.deepEqual(prune(keys, 3600, T + 100).removed, []);
    const pruned = prune(keys, 3600, T + 3600);
    assert.equal(pruned.removed.length, 2);
    assert.deepEqual(pruned.keys.map((k) => keyState(k, T + 3600)), ['active', 'active']);
  });
});
