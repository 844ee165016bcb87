import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../helpers/cli.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const STATIC_SECRET = 'static-secret-for-the-clients-cli-test-0123456789';
let gh: TestServer;
let dir: string;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-clients-cli-'));
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([{ client_id: 'gitops-svc', client_secret: STATIC_SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }]));
  gh = await startTestServer({ GATEHOUSE_STORE: 'sqlite', GATEHOUSE_CLIENTS_FILE: clientsFile });
  env = { GATEHOUSE_DATA_DIR: gh.config.dataDir, GATEHOUSE_ISSUER: gh.config.issuer, GATEHOUSE_CLIENTS_FILE: clientsFile };
});
after(async () => {
  await gh.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(['clients', ...args], { env });
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

async function clientCredentials(id: string, secret: string): Promise<Response> {
  return fetch(`${gh.publicUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
}

describe('gatehouse clients', () => {
  it('adds a public native CLI client (device code, authorization code) with a loopback redirect and no secret', async () => {
    const r = await cli('add', '--id', 'my-cli', '--name', 'My CLI', '--public', '--native', '--grant', 'urn:ietf:params:oauth:grant-type:device_code', 'authorization_code', 'refresh_token', '--redirect-uri', 'http://127.0.0.1/callback');
    assert.equal(r.status, 0, r.stderr);
    const m = json(r.stdout);
    assert.equal(m.client_id, 'my-cli');
    assert.equal(m.token_endpoint_auth_method, 'none');
    assert.equal(m.application_type, 'native');
    assert.deepEqual(m.response_types, ['code']);
    assert.deepEqual(m.redirect_uris, ['http://127.0.0.1/callback']);
    assert.deepEqual(m.grant_types, ['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code', 'refresh_token']);
    assert.equal(m.client_secret, undefined);
    const stored = await gh.store.find('Client', 'my-cli');
    assert.equal(stored?.client_name, 'My CLI');
  });

  it('adds a confidential service client, prints its secret once, and the running server accepts it', async () => {
    const r = await cli('add', '--id', 'billing', '--name', 'Billing', '--grant', 'client_credentials');
    assert.equal(r.status, 0, r.stderr);
    const secret = json(r.stdout).client_secret as string;
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.match(r.stderr, /shown only this once/);
    assert.equal((await clientCredentials('billing', secret)).status, 200);

    const show = await cli('show', 'billing');
    assert.equal(show.status, 0, show.stderr);
    assert.equal(json(show.stdout).source, 'store');
    assert.ok(!show.stdout.includes(secret));
    const list = await cli('list', '--json');
    assert.ok(!list.stdout.includes(secret));
  });

  it('lists stored and static clients together', async () => {
    // A store of its own, so the listing is exactly what this test added plus the static file.
    const own = { ...env, GATEHOUSE_DATA_DIR: mkdtempSync(join(dir, 'list-')) };
    const ownCli = (...args: string[]) => runCli(['clients', ...args], { env: own });
    assert.equal((await ownCli('add', '--id', 'billing', '--name', 'Billing', '--grant', 'client_credentials')).status, 0);
    assert.equal((await ownCli('add', '--id', 'my-cli', '--name', 'My CLI', '--public', '--native', '--grant', 'urn:ietf:params:oauth:grant-type:device_code', 'authorization_code', 'refresh_token', '--redirect-uri', 'http://127.0.0.1/callback')).status, 0);
    const r = await ownCli('list');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^CLIENT_ID\s+NAME\s+AUTH\s+GRANTS\s+SOURCE$/m);
    assert.match(r.stdout, /^billing\s+Billing\s+client_secret_basic\s+client_credentials\s+store$/m);
    assert.match(r.stdout, /^gitops-svc\s+client_secret_basic\s+client_credentials\s+file$/m);
    assert.match(r.stdout, /^my-cli\s+My CLI\s+none\s+urn:ietf:params:oauth:grant-type:device_code,authorization_code,refresh_token\s+store$/m);
    const listed = JSON.parse((await ownCli('list', '--json')).stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(listed.map((c) => c.client_id), ['billing', 'gitops-svc', 'my-cli']);
    assert.ok(!JSON.stringify(listed).includes(STATIC_SECRET));
  });

  it('shows a dynamically registered client, and can remove it', async () => {
    const reg = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [], response_types: [], grant_types: ['client_credentials'], client_name: 'self-registered' }) });
    assert.equal(reg.status, 201);
    const created = (await reg.json()) as Record<string, string>;
    const list = await cli('list');
    assert.match(list.stdout, new RegExp(`^${created.client_id}\\s+self-registered\\s`, 'm'));
    assert.equal((await cli('remove', created.client_id!)).status, 0);
    assert.equal((await clientCredentials(created.client_id!, created.client_secret!)).status, 401);
    const manage = await fetch(created.registration_client_uri!.replace(gh.config.issuer, gh.publicUrl), { headers: { authorization: `Bearer ${created.registration_access_token}` } });
    assert.equal(manage.status, 401, 'its registration access token went with it');
  });

  it('updates fields and rotates the secret; the old secret stops working', async () => {
    const added = await cli('add', '--id', 'reports', '--grant', 'client_credentials');
    const oldSecret = json(added.stdout).client_secret as string;
    const renamed = await cli('update', 'reports', '--name', 'Reports service');
    assert.equal(renamed.status, 0, renamed.stderr);
    assert.equal(json(renamed.stdout).client_name, 'Reports service');
    assert.equal(json(renamed.stdout).client_secret, undefined, 'no new secret unless asked');
    assert.equal((await clientCredentials('reports', oldSecret)).status, 200);

    const rotated = await cli('update', 'reports', '--rotate-secret');
    assert.equal(rotated.status, 0, rotated.stderr);
    const newSecret = json(rotated.stdout).client_secret as string;
    assert.ok(newSecret && newSecret !== oldSecret);
    assert.equal((await clientCredentials('reports', oldSecret)).status, 401);
    assert.equal((await clientCredentials('reports', newSecret)).status, 200);
  });

  it('removes a client; it can no longer get tokens', async () => {
    const added = await cli('add', '--id', 'short-lived', '--grant', 'client_credentials');
    const secret = json(added.stdout).client_secret as string;
    const r = await cli('remove', 'short-lived');
    assert.equal(r.status, 0, r.stderr);
    const res = await clientCredentials('short-lived', secret);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as Record<string, string>).error, 'invalid_client');
    const again = await cli('remove', 'short-lived');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /client short-lived not found/);
  });

  it('refuses invalid metadata with exit status 2 and the OAuth error', async () => {
    assert.equal((await cli('add', '--id', 'unchanged', '--grant', 'client_credentials')).status, 0);
    const none = await cli('add', '--id', 'x1', '--public', '--grant', 'client_credentials');
    assert.equal(none.status, 2);
    assert.match(none.stderr, /invalid_client_metadata: the client_credentials grant requires client authentication/);
    const js = await cli('add', '--id', 'x2', '--grant', 'authorization_code', '--redirect-uri', 'javascript:alert(1)');
    assert.equal(js.status, 2);
    assert.match(js.stderr, /invalid_redirect_uri/);
    const http = await cli('add', '--id', 'x3', '--grant', 'authorization_code', '--redirect-uri', 'http://app.example.com/cb');
    assert.equal(http.status, 2);
    const managed = await cli('add', '--id', 'x4', '--grant', 'client_credentials', '--metadata', '{"client_id_issued_at":1}');
    assert.equal(managed.status, 2);
    assert.match(managed.stderr, /client_id_issued_at is managed by the server/);
    assert.equal((await cli('add', '--metadata', 'not json')).status, 2);
    const badId = await cli('add', '--id', 'has space', '--grant', 'client_credentials');
    assert.equal(badId.status, 2);
    assert.match(badId.stderr, /client_id must start with a letter or digit/);
    assert.equal((await cli('update', 'unchanged')).status, 2, 'nothing to update');
    assert.equal(await gh.store.find('Client', 'x1'), undefined);
  });

  it('refuses duplicates and changes to static clients', async () => {
    assert.equal((await cli('add', '--id', 'taken', '--grant', 'client_credentials')).status, 0);
    const dup = await cli('add', '--id', 'taken', '--grant', 'client_credentials');
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /already exists/);
    const clash = await cli('add', '--id', 'gitops-svc', '--grant', 'client_credentials');
    assert.equal(clash.status, 1);
    const upd = await cli('update', 'gitops-svc', '--name', 'x');
    assert.equal(upd.status, 1);
    assert.match(upd.stderr, /GATEHOUSE_CLIENTS_FILE/);
    assert.equal((await cli('remove', 'gitops-svc')).status, 1);
    assert.equal((await clientCredentials('gitops-svc', STATIC_SECRET)).status, 200);
    const show = await cli('show', 'gitops-svc');
    assert.equal(json(show.stdout).source, 'file');
    assert.ok(!show.stdout.includes(STATIC_SECRET));
    assert.equal((await cli('show', 'nobody')).status, 1);
  });

  it('a stored client the clients file hides (same id) is named at start, and `clients remove` deletes the hidden record', async () => {
    const own = mkdtempSync(join(tmpdir(), 'gh-clients-shadow-'));
    try {
      const data = join(own, 'data');
      const envOwn = { GATEHOUSE_DATA_DIR: data, GATEHOUSE_ISSUER: gh.config.issuer };
      const added = await runCli(['clients', 'add', '--id', 'billing', '--grant', 'client_credentials'], { env: envOwn });
      assert.equal(added.status, 0, added.stderr);
      const file = join(own, 'clients.json');
      writeFileSync(file, JSON.stringify([{ client_id: 'billing', client_secret: STATIC_SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }]));
      const server = await startTestServer({ GATEHOUSE_DATA_DIR: data, GATEHOUSE_CLIENTS_FILE: file });
      try {
        // Checked after the start, without holding it up.
        for (let i = 0; i < 50 && !server.logs.some((l) => l.event === 'client_shadowed'); i++) await new Promise((r) => setTimeout(r, 100));
        const line = server.logs.find((l) => l.event === 'client_shadowed');
        assert.equal(line?.client_id, 'billing');
        assert.equal(line?.level, 'warn');
        assert.match(String(line?.msg), /gatehouse clients remove billing/);
      } finally {
        await server.stop().catch(() => {});
      }
      const withFile = { ...envOwn, GATEHOUSE_CLIENTS_FILE: file };
      const removed = await runCli(['clients', 'remove', 'billing'], { env: withFile });
      assert.equal(removed.status, 0, removed.stderr);
      assert.match(removed.stderr, /removed the stored client billing that GATEHOUSE_CLIENTS_FILE hid; the file's billing stays/);
      const again = await runCli(['clients', 'remove', 'billing'], { env: withFile });
      assert.equal(again.status, 1);
      assert.match(again.stderr, /defined in GATEHOUSE_CLIENTS_FILE/);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('adds a tls_client_auth service client', async () => {
    const r = await cli('add', '--id', 'mtls-svc', '--grant', 'client_credentials', '--auth-method', 'tls_client_auth', '--tls-san-dns', 'mtls-svc.internal');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(json(r.stdout).tls_client_auth_san_dns, 'mtls-svc.internal');
    assert.equal(json(r.stdout).client_secret, undefined);
  });
});
