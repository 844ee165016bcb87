import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import { describe, it } from 'node:test';
import Provider from 'oidc-provider';
import { cacheClients } from '../../src/clients/client_cache.ts';
import { hashClientSecret } from '../../src/clients/client_secret.ts';
import { adapterClass } from '../../src/provider/adapter_bridge.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/storage/sqlite/sqlite_store.ts';

/** A stored client as registration leaves it (secret hashed). */
const record = (name: string) => ({
  client_id: 'c1',
  client_secret: hashClientSecret('s'.repeat(43)),
  client_name: name,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
});

/** The SQLite store (it serialises what it is given, as every real store does), behind the client cache. */
function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-client-view-'));
  const backing = new SqliteStore(join(dir, 'g.db'));
  t.after(async () => {
    await backing.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const store = cacheClients(backing, { ttlSeconds: 60 });
  const Adapter = adapterClass(store);
  const provider = new Provider('http://127.0.0.1:1', { adapter: Adapter, features: { devInteractions: { enabled: false }, clientCredentials: { enabled: true } } });
  return { store, adapter: new Adapter('Client'), provider };
}

describe('stored clients as oidc-provider sees them', () => {
  it('serialise to a digest of the record computed once, and carry every field', async (t) => {
    const { store, adapter } = setup(t);
    await store.upsert('Client', 'c1', record('one'));
    const found = (await adapter.find('c1'))!;
    assert.equal(JSON.stringify(found), JSON.stringify(hash('sha256', JSON.stringify(record('one')), 'base64url')));
    assert.deepEqual({ ...found }, record('one'));
    assert.equal(Object.keys(found).includes('toJSON'), false);
    assert.equal(await adapter.find('c1'), found, 'the same record gives the same view');
    await store.upsert('Client', 'c1', record('two'));
    const changed = (await adapter.find('c1'))!;
    assert.notEqual(JSON.stringify(changed), JSON.stringify(found));
    assert.equal(changed.client_name, 'two');
  });

  it('are built once by oidc-provider, and rebuilt when the record changes', async (t) => {
    const { store, provider } = setup(t);
    await store.upsert('Client', 'c1', record('one'));
    const a = await provider.Client.find('c1');
    const b = await provider.Client.find('c1');
    assert.ok(a);
    assert.equal(a, b, 'one built client for one record');
    assert.equal(a.clientName, 'one');
    await store.upsert('Client', 'c1', record('two'));
    const c = await provider.Client.find('c1');
    assert.notEqual(c, a);
    assert.equal(c!.clientName, 'two');
    assert.equal(await provider.Client.find('absent'), undefined);
  });

  it('are written back as their fields, never as the digest', async (t) => {
    const { store, adapter } = setup(t);
    await store.upsert('Client', 'c1', record('one'));
    const found = (await adapter.find('c1'))!;
    await adapter.upsert('c1', { ...found, client_name: 'spread' } as never, undefined as never);
    assert.equal((await store.find('Client', 'c1'))!.client_name, 'spread');
    await adapter.upsert('c1', found, undefined as never);
    assert.deepEqual({ ...(await store.find('Client', 'c1'))! }, record('one'));
  });

  it('give each reader its own jwks to write into, with the record left as it was', async (t) => {
    const { store, adapter } = setup(t);
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] };
    await store.upsert('Client', 'c1', { ...record('one'), jwks });
    const found = (await adapter.find('c1'))!;
    ((found.jwks as typeof jwks).keys[0] as Record<string, unknown>)['x5t#S256'] = 'added by oidc-provider';
    assert.deepEqual((await store.find('Client', 'c1'))!.jwks, jwks);
  });
});
