import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { hashClientSecret } from '../../../src/clients/client_secret.ts';
import { runCli } from '../../helpers/cli.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const SERVICE = { redirect_uris: [], response_types: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' };
const STATIC_SECRET = 'static-file-secret-0123456789abcdefghijklmnop';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** Every byte the SQLite store has written (database and write-ahead log): what a copy of it holds. */
function storeBytes(gh: TestServer): string {
  const file = gh.config.sqliteFile;
  return [file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('');
}

describe('client secrets are kept only as hashes', () => {
  let gh: TestServer;
  let env: Record<string, string>;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-secrets-'));
    const clientsFile = join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([
      { client_id: 'static-svc', client_secret: STATIC_SECRET, ...SERVICE },
      // README: the file may hold the hash instead of the secret.
      { client_id: 'prehashed-svc', client_secret: hashClientSecret(`${STATIC_SECRET}-2`), ...SERVICE },
    ]));
    gh = await startTestServer({ GATEHOUSE_STORE: 'sqlite', GATEHOUSE_CLIENTS_FILE: clientsFile });
    env = { GATEHOUSE_DATA_DIR: gh.config.dataDir, GATEHOUSE_ISSUER: gh.config.issuer, GATEHOUSE_CLIENTS_FILE: clientsFile };
  });
  after(async () => {
    await gh.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const token = (headers: Record<string, string>, form: Record<string, string> = {}) =>
    fetch(`${gh.publicUrl}/token`, { method: 'POST', headers, body: new URLSearchParams({ grant_type: 'client_credentials', ...form }) });

  it('registration (RFC 7591) returns the secret once; the store holds only its hash; Basic and post both work', async () => {
    const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SERVICE) });
    assert.equal(res.status, 201);
    const { client_id, client_secret, registration_access_token } = (await res.json()) as Record<string, string>;
    assert.ok(client_id && client_secret && registration_access_token);
    const stored = await gh.store.find('Client', client_id);
    assert.equal(stored?.client_secret, hashClientSecret(client_secret));
    assert.ok(!storeBytes(gh).includes(client_secret), 'the raw secret is nowhere in the store files');

    assert.equal((await token({ authorization: basic(client_id, client_secret) })).status, 200);
    assert.equal((await token({}, { client_id, client_secret })).status, 200, 'client_secret_post');
    // The stored value is not a secret: presented, it is hashed again and does not match.
    for (const wrong of [stored!.client_secret as string, `${client_secret}x`]) {
      const r = await token({ authorization: basic(client_id, wrong) });
      assert.equal(r.status, 401);
      assert.equal(((await r.json()) as { error: string }).error, 'invalid_client');
    }

    // RFC 7592: reading the registration never returns the hash; an update may quote the raw secret.
    const read = await fetch(`${gh.publicUrl}/reg/${client_id}`, { headers: { authorization: `Bearer ${registration_access_token}` } });
    const readBody = (await read.json()) as Record<string, unknown>;
    assert.equal(read.status, 200);
    assert.equal(readBody.client_secret, undefined);
    const update = await fetch(`${gh.publicUrl}/reg/${client_id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${registration_access_token}` },
      body: JSON.stringify({ ...SERVICE, client_id, client_secret, client_name: 'Renamed' }),
    });
    const updated = (await update.json()) as Record<string, unknown>;
    assert.equal(update.status, 200, JSON.stringify(updated));
    assert.equal(updated.client_secret, undefined);
    const wrongUpdate = await fetch(`${gh.publicUrl}/reg/${client_id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${updated.registration_access_token as string}` },
      body: JSON.stringify({ ...SERVICE, client_id, client_secret: 'not-the-secret' }),
    });
    assert.equal(wrongUpdate.status, 400);
    assert.equal((await token({ authorization: basic(client_id, client_secret) })).status, 200, 'the secret survived the update');
  });

  it('introspection and revocation authenticate with the hashed secret too', async () => {
    const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...SERVICE, token_endpoint_auth_method: 'client_secret_post' }) });
    const { client_id, client_secret } = (await res.json()) as Record<string, string>;
    const issued = (await (await token({}, { client_id: client_id!, client_secret: client_secret! })).json()) as { access_token: string };
    const introspection = await fetch(`${gh.publicUrl}/token/introspection`, { method: 'POST', body: new URLSearchParams({ client_id: client_id!, client_secret: client_secret!, token: issued.access_token }) });
    assert.equal(((await introspection.json()) as { active: boolean }).active, true);
    const revocation = await fetch(`${gh.publicUrl}/token/revocation`, { method: 'POST', body: new URLSearchParams({ client_id: client_id!, client_secret: client_secret!, token: issued.access_token }) });
    assert.equal(revocation.status, 200);
  });

  it('`gatehouse clients add` and `update --rotate-secret` print the secret once and store its hash', async () => {
    const add = await runCli(['clients', 'add', '--id', 'billing', '--grant', 'client_credentials'], { env });
    assert.equal(add.status, 0, add.stderr);
    const first = JSON.parse(add.stdout).client_secret as string;
    assert.equal((await gh.store.find('Client', 'billing'))?.client_secret, hashClientSecret(first));
    assert.equal((await token({ authorization: basic('billing', first) })).status, 200);
    const show = await runCli(['clients', 'show', 'billing'], { env });
    assert.equal(JSON.parse(show.stdout).client_secret, undefined);

    const rotate = await runCli(['clients', 'update', '--rotate-secret', 'billing'], { env });
    assert.equal(rotate.status, 0, rotate.stderr);
    const second = JSON.parse(rotate.stdout).client_secret as string;
    assert.notEqual(second, first);
    assert.match(rotate.stderr, /shown only this once/);
    assert.equal((await gh.store.find('Client', 'billing'))?.client_secret, hashClientSecret(second));
    assert.equal((await token({ authorization: basic('billing', second) })).status, 200);
    assert.equal((await token({ authorization: basic('billing', first) })).status, 401);
    const rename = await runCli(['clients', 'update', '--name', 'Billing', 'billing'], { env });
    assert.equal(rename.status, 0, rename.stderr);
    assert.equal((await gh.store.find('Client', 'billing'))?.client_secret, hashClientSecret(second), 'an update keeps the hash as it is');
  });

  it('a client stored before hashing is migrated on first use, and keeps working', async () => {
    const legacySecret = 'legacy-raw-secret-0123456789abcdefghijklmnopqrstu';
    await gh.store.upsert('Client', 'legacy-svc', { client_id: 'legacy-svc', client_secret: legacySecret, client_secret_expires_at: 0, ...SERVICE });
    assert.equal((await token({ authorization: basic('legacy-svc', legacySecret) })).status, 200);
    assert.equal((await gh.store.find('Client', 'legacy-svc'))?.client_secret, hashClientSecret(legacySecret));
    assert.equal((await token({ authorization: basic('legacy-svc', legacySecret) })).status, 200, 'after migration');
    assert.equal((await token({ authorization: basic('legacy-svc', hashClientSecret(legacySecret)) })).status, 401);
  });

  it('a static client from GATEHOUSE_CLIENTS_FILE authenticates with the secret written in the file', async () => {
    assert.equal((await token({ authorization: basic('static-svc', STATIC_SECRET) })).status, 200);
    assert.equal((await token({}, { client_id: 'static-svc', client_secret: STATIC_SECRET })).status, 200, 'oidc-provider takes either secret method');
    assert.equal((await token({ authorization: basic('static-svc', hashClientSecret(STATIC_SECRET)) })).status, 401);
    assert.equal((await token({ authorization: basic('prehashed-svc', `${STATIC_SECRET}-2`) })).status, 200, 'a file holding only the hash');
  });

  it('the stored hash is refused however the endpoint path is spelled (oidc-provider routes /TOKEN and /token/ too)', async () => {
    const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...SERVICE, token_endpoint_auth_method: 'client_secret_post' }) });
    const { client_id, client_secret, registration_access_token } = (await res.json()) as Record<string, string>;
    const hash = hashClientSecret(client_secret!);
    for (const path of ['/TOKEN', '/token/', '/Token', '/token/INTROSPECTION', '/token/revocation/']) {
      const form = { client_id: client_id!, client_secret: hash, grant_type: 'client_credentials', token: 'x' };
      const r = await fetch(`${gh.publicUrl}${path}`, { method: 'POST', body: new URLSearchParams(form) });
      assert.equal(r.status, 401, `${path} with the hash: ${r.status}`);
      const ok = await fetch(`${gh.publicUrl}${path}`, { method: 'POST', body: new URLSearchParams({ ...form, client_secret: client_secret! }) });
      assert.equal(ok.status, 200, `${path} with the secret: ${ok.status}`);
    }
    for (const path of [`/REG/${client_id}`, `/reg/${client_id}/`]) {
      const read = await fetch(`${gh.publicUrl}${path}`, { headers: { authorization: `Bearer ${registration_access_token}` } });
      assert.equal(read.status, 200);
      assert.equal(((await read.json()) as Record<string, unknown>).client_secret, undefined, `${path} shows no hash`);
    }
  });

  it('the stored hash is refused however the parameter name is escaped (client%5Fsecret, %63lient_secret)', async () => {
    const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...SERVICE, token_endpoint_auth_method: 'client_secret_post' }) });
    const { client_id, client_secret } = (await res.json()) as Record<string, string>;
    const hash = encodeURIComponent(hashClientSecret(client_secret!));
    for (const name of ['client%5Fsecret', '%63lient_secret', 'client%5fsecret']) {
      const form = (secret: string) => `grant_type=client_credentials&client_id=${encodeURIComponent(client_id!)}&${name}=${secret}`;
      const post = (body: string) => fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      assert.equal((await post(form(hash))).status, 401, `${name} with the hash`);
      assert.equal((await post(form(encodeURIComponent(client_secret!)))).status, 200, `${name} with the secret`);
    }
  });

  it('a chunked body too large to read is refused, not half-read (oidc-provider would parse the unread rest, unhashed)', async () => {
    const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...SERVICE, token_endpoint_auth_method: 'client_secret_post' }) });
    const { client_id, client_secret } = (await res.json()) as Record<string, string>;
    for (const junk of [70_000, 100_000]) {
      // No Content-Length: the size is known only once read.
      const body = `${'a'.repeat(junk)}&grant_type=client_credentials&client_id=${client_id}&client_secret=${encodeURIComponent(hashClientSecret(client_secret!))}`;
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(`${gh.publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' } }, (r) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode!, text }));
        });
        req.on('error', reject);
        for (let i = 0; i < body.length; i += 8192) req.write(body.slice(i, i + 8192));
        req.end();
      });
      assert.equal(answer.status, 413, `${junk}: ${answer.text.slice(0, 200)}`);
      assert.equal((JSON.parse(answer.text) as { error: string }).error, 'invalid_request');
    }
  });

  it('a client_secret sent twice, or Basic credentials with wrong padding, are refused as oidc-provider refuses them, not repaired', async () => {
    const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SERVICE) });
    const { client_id, client_secret } = (await res.json()) as Record<string, string>;
    const twice = await fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&client_id=${client_id}&client_secret=${client_secret}&client_secret=${client_secret}` });
    assert.equal(twice.status, 400);
    assert.equal(((await twice.json()) as { error: string }).error, 'invalid_request');
    // One '=' too few for the length: Buffer decodes it anyway; oidc-provider does not.
    const encoded = Buffer.from(`${client_id}:${client_secret}`).toString('base64');
    const padded = encoded.endsWith('==') ? encoded.slice(0, -1) : `${encoded}=`;
    const wrongPadding = await token({ authorization: `Basic ${padded}` });
    assert.ok(wrongPadding.status === 400 || wrongPadding.status === 401, `wrong padding: ${wrongPadding.status}`);
    assert.equal((await token({ authorization: `Basic ${encoded}` })).status, 200);
  });

  it('a form of more than 1000 parameters (where oidc-provider stops reading) is refused with 400 invalid_request', async () => {
    const many = await fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials${'&'.repeat(1000)}client_id=hidden` });
    assert.equal(many.status, 400);
    const body = (await many.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_request');
    assert.match(body.error_description, /1000 form parameters/);
    // 1000 pieces: all read by oidc-provider, so not refused here.
    const atTheLimit = await fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials${'&'.repeat(999)}client_id=hidden` });
    assert.notEqual(atTheLimit.status, 500);
    assert.doesNotMatch(await atTheLimit.text(), /form parameters/);
  });

  it('a client that goes away halfway through its body is not an unhandled error in the log', async () => {
    const url = new URL(`${gh.publicUrl}/token`);
    await new Promise<void>((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' } });
      req.on('error', () => resolve());
      req.write('grant_type=client_credentials&client_id=');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    // The server's answer to the abort, whichever it is (the test server logs at debug).
    const seen = (l: Record<string, unknown>) => l.msg === 'unhandled error' || l.msg === 'client closed the connection before the request was read';
    for (const deadline = Date.now() + 5000; !gh.logs.some(seen) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    assert.equal(gh.logs.filter((l) => l.msg === 'unhandled error').length, 0);
    assert.ok(gh.logs.some(seen), 'the server saw the client go away');
  });

  it('malformed Basic credentials are still refused with 400, never 500', async () => {
    for (const authorization of ['Basic %%%', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from('a:%zz').toString('base64')}`]) {
      const r = await token({ authorization });
      assert.ok(r.status === 400 || r.status === 401, `${authorization}: ${r.status}`);
      assert.ok(['invalid_request', 'invalid_client'].includes(((await r.json()) as { error: string }).error));
    }
  });
});
