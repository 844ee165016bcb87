import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteStore } from '../../src/storage/sqlite/sqlite_store.ts';
import { CAPABILITIES, runConformance } from './conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runConformance('sqlite', { open: async () => new SqliteStore(join(dir, `store-${n++}.db`)), capabilities: CAPABILITIES });

describe('sqlite specifics', () => {
  it('keeps data across reopening the same file', async () => {
    const file = join(dir, 'reopen.db');
    const a = new SqliteStore(file);
    await a.upsert('Client', 'c1', { client_id: 'c1' });
    await a.close();
    const b = new SqliteStore(file);
    assert.deepEqual(await b.find('Client', 'c1'), { client_id: 'c1' });
    await b.close();
  });
  it('two handles on one file see each other and consume once between them', async () => {
    const file = join(dir, 'shared.db');
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    await a.upsert('AuthorizationCode', 'x', { grantId: 'g' }, 60);
    const results = await Promise.all([a.consume('AuthorizationCode', 'x'), b.consume('AuthorizationCode', 'x')]);
    assert.equal(results.filter(Boolean).length, 1);
    await a.close();
    await b.close();
  });
  it('a closed database reports the store as unavailable instead of crashing', async () => {
    const s = new SqliteStore(join(dir, 'closed.db'));
    await s.close();
    await assert.rejects(s.find('Client', 'x'), { code: 'ERR_STORE_UNAVAILABLE' });
    await assert.rejects(s.ping(), { code: 'ERR_STORE_UNAVAILABLE' });
  });
});
