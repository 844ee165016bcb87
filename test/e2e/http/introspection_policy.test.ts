import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

// RFC 7662 §4: the server decides who may learn what about a token. A client sees its own
// tokens; only an API an operator marked may introspect other clients' tokens.
const secret = (id: string) => `${id}-secret-0123456789abcdefghij`;
const client = (id: string, extra: Record<string, unknown> = {}) => ({ client_id: id, client_secret: secret(id), grant_types: ['client_credentials'], response_types: [], redirect_uris: [], ...extra });
const form = (id: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret(id)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' });
let gh: TestServer;
let token: string;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-introspect-'));
  writeFileSync(join(dir, 'clients.json'), JSON.stringify([client('svc'), client('nosy'), client('api', { introspect_any_token: true })]));
  gh = await startTestServer({ GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json') });
  const res = await fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: form('svc'), body: 'grant_type=client_credentials' });
  token = ((await res.json()) as { access_token: string }).access_token;
});
after(() => gh.stop());

const introspect = async (as: string) => (await (await fetch(`${gh.publicUrl}/token/introspection`, { method: 'POST', headers: form(as), body: `token=${token}` })).json()) as Record<string, unknown>;

describe('who may introspect a token', () => {
  it('the client the token was issued to', async () => {
    assert.equal((await introspect('svc')).active, true);
  });
  it('not another client: it learns nothing', async () => {
    assert.deepEqual(await introspect('nosy'), { active: false });
  });
  it('an API client an operator marked with introspect_any_token', async () => {
    const info = await introspect('api');
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'svc');
  });
  it('a self-registered client cannot give itself the mark, at registration or update', async () => {
    const doc = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' };
    const marked = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...doc, introspect_any_token: true }) });
    assert.equal(marked.status, 400);
    assert.equal(((await marked.json()) as { error: string }).error, 'invalid_client_metadata');
    const created = (await (await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) })).json()) as Record<string, string>;
    const update = await fetch(created.registration_client_uri!, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${created.registration_access_token}` },
      body: JSON.stringify({ ...doc, client_id: created.client_id, client_secret: created.client_secret, introspect_any_token: true }),
    });
    assert.equal(update.status, 400);
  });
});
