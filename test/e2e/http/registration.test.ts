import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { issueClientCertificate } from '../../../src/pki/dev_pki.ts';
import { runCli } from '../../helpers/cli.ts';
import { curl } from '../../helpers/curl.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

/** The exact registration from the issue (Smallstep walkthrough), pointed at the test server. */
const ISSUE_DOCUMENT = '{"redirect_uris":[],"response_types":[],"grant_types":["client_credentials"],"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_email":"curl@example.com"}';
const SECRET_DOCUMENT = '{"redirect_uris":[],"response_types":[],"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic","client_name":"curl service"}';

async function register(gh: TestServer, doc: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(doc) });
}

async function clientCredentials(gh: TestServer, id: string, secret: string): Promise<Response> {
  return fetch(`${gh.publicUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
}

const SERVICE = { redirect_uris: [], response_types: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' };

describe('registration in development (open by default)', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer();
  });
  after(() => gh.stop());

  it('a JSON body over 56 KiB gets 413 invalid_request, announced (Content-Length) or chunked; one just under is parsed', async () => {
    const { request } = await import('node:http');
    const big = JSON.stringify({ ...SERVICE, client_name: 'x', software_statement: 'y'.repeat(60 * 1024) });
    const post = (chunked: boolean, body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const headers: Record<string, string> = { 'content-type': 'application/json', ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(Buffer.byteLength(body)) }) };
        const req = request(`${gh.publicUrl}/reg`, { method: 'POST', headers }, (r) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode!, text }));
        });
        req.on('error', reject);
        for (let i = 0; i < body.length; i += 8192) req.write(body.slice(i, i + 8192));
        req.end();
      });
    for (const chunked of [false, true]) {
      const answer = await post(chunked, big);
      assert.equal(answer.status, 413, `chunked=${chunked}: ${answer.text.slice(0, 200)}`);
      assert.equal((JSON.parse(answer.text) as { error: string }).error, 'invalid_request');
    }
    // Just under 56 KiB (padding in a field oidc-provider ignores): parsed, so refused for its content, not its size.
    const under = JSON.stringify({ ...SERVICE, client_name: 'just under', software_statement: 'y'.repeat(56 * 1024 - 300) });
    assert.ok(Buffer.byteLength(under) < 56 * 1024 && Buffer.byteLength(under) > 55 * 1024);
    for (const chunked of [false, true]) {
      const answer = await post(chunked, under);
      assert.notEqual(answer.status, 413, answer.text.slice(0, 200));
      assert.ok(answer.status < 500, answer.text.slice(0, 200));
    }
  });

  it('defaults to open and advertises the registration endpoint', async () => {
    assert.equal(gh.config.registration, 'open');
    const discovery = (await (await fetch(`${gh.publicUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(discovery.registration_endpoint, `${gh.config.issuer}/reg`);
  });

  it('the exact curl command from the issue registers a tls_client_auth client that gets a token over mTLS', async () => {
    const r = await curl(['-d', ISSUE_DOCUMENT, '-H', 'Content-Type: application/json', `${gh.publicUrl}/reg`]);
    assert.equal(r.status, 201, r.body);
    assert.equal(typeof r.json.client_id, 'string');
    assert.equal(typeof r.json.registration_access_token, 'string');
    assert.equal(r.json.registration_client_uri, `${gh.config.issuer}/reg/${r.json.client_id as string}`);
    assert.equal(r.json.tls_client_auth_san_email, 'curl@example.com');

    const out = join(gh.dir, 'client-certs');
    const issued = await issueClientCertificate(gh.config.certsDir, 'curl', { sans: { email: ['curl@example.com'] }, days: 1, outDir: out });
    const token = await curl([
      '--cacert', join(gh.config.certsDir, 'root_ca.crt'), '--cert', issued.certPath, '--key', issued.keyPath,
      '-d', `client_id=${r.json.client_id as string}&grant_type=client_credentials`, `${gh.mtlsUrl}/token`,
    ]);
    assert.equal(token.status, 200, token.body);
    assert.equal(token.json.token_type, 'Bearer');
  });

  it('the same curl command with client_secret_basic registers a client that gets a token', async () => {
    const r = await curl(['-d', SECRET_DOCUMENT, '-H', 'Content-Type: application/json', `${gh.publicUrl}/reg`]);
    assert.equal(r.status, 201, r.body);
    const { client_id, client_secret, registration_access_token, registration_client_uri } = r.json as Record<string, string>;
    assert.ok(client_id && client_secret && registration_access_token);
    assert.match(client_id!, /^[A-Za-z0-9]{24}$/, 'letters and digits only, so it is safe as a CLI argument');
    assert.equal(registration_client_uri, `${gh.config.issuer}/reg/${client_id}`);
    assert.equal(r.json.client_name, 'curl service');
    const token = await curl(['-u', `${client_id}:${client_secret}`, '-d', 'grant_type=client_credentials', `${gh.publicUrl}/token`]);
    assert.equal(token.status, 200, token.body);
    assert.equal(typeof token.json.access_token, 'string');
    assert.equal(token.json.token_type, 'Bearer');
  });

  it('stores registered clients in the store as oidc-provider Client records', async () => {
    const res = await register(gh, SERVICE);
    const body = (await res.json()) as Record<string, string>;
    const stored = await gh.store.find('Client', body.client_id!);
    assert.equal(stored?.client_id, body.client_id);
    assert.equal(stored?.registration_access_token, undefined);
  });

  it('never logs the client secret or the registration access token', async () => {
    const res = await register(gh, SERVICE);
    const body = (await res.json()) as Record<string, string>;
    const text = gh.logText();
    assert.ok(!text.includes(body.client_secret!));
    assert.ok(!text.includes(body.registration_access_token!));
    assert.ok(gh.logs.some((l) => l.event === 'registration_create.success' && l.client_id === body.client_id));
  });
});

describe('GATEHOUSE_REGISTRATION_ALLOW_PRIVATE_URIS', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer({ GATEHOUSE_REGISTRATION_ALLOW_PRIVATE_URIS: 'true' });
  });
  after(() => gh.stop());

  it('lets a jwks_uri on a private network register', async () => {
    const res = await register(gh, { ...SERVICE, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://10.1.2.3/jwks' });
    assert.equal(res.status, 201, await res.text());
  });
  it('still refuses http and dangerous redirect URIs', async () => {
    assert.equal((await register(gh, { ...SERVICE, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://10.1.2.3/jwks' })).status, 400);
    assert.equal((await register(gh, { redirect_uris: ['javascript:alert(1)'] })).status, 400);
  });
});

describe('RFC 7592 client management', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer();
  });
  after(() => gh.stop());

  const manage = (uri: string, token: string | undefined, init: RequestInit = {}) =>
    fetch(uri.replace(gh.config.issuer, gh.publicUrl), { ...init, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) } });

  it('reads, updates with a rotated token, and deletes a registered client', async () => {
    const created = (await (await register(gh, { ...SERVICE, client_name: 'svc one' })).json()) as Record<string, string>;
    const uri = created.registration_client_uri!;
    const rat1 = created.registration_access_token!;

    const read = await manage(uri, rat1);
    assert.equal(read.status, 200);
    const readBody = (await read.json()) as Record<string, unknown>;
    assert.equal(readBody.client_id, created.client_id);
    assert.equal(readBody.client_name, 'svc one');

    assert.equal((await manage(uri, undefined)).status, 401);
    const wrong = await manage(uri, 'not-a-registration-token');
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as Record<string, string>).error, 'invalid_token');

    const update = await manage(uri, rat1, { method: 'PUT', body: JSON.stringify({ ...SERVICE, client_id: created.client_id, client_name: 'svc renamed' }) });
    assert.equal(update.status, 200);
    const updated = (await update.json()) as Record<string, string>;
    assert.equal(updated.client_name, 'svc renamed');
    const rat2 = updated.registration_access_token!;
    assert.ok(rat2 && rat2 !== rat1, 'the registration access token rotates on update');
    assert.equal((await manage(uri, rat1)).status, 401, 'the old registration access token stops working');
    assert.equal((await manage(uri, rat2)).status, 200);
    assert.equal((await clientCredentials(gh, created.client_id!, created.client_secret!)).status, 200, 'the secret survives the update');

    const del = await manage(uri, rat2, { method: 'DELETE' });
    assert.equal(del.status, 204);
    const after = await clientCredentials(gh, created.client_id!, created.client_secret!);
    assert.equal(after.status, 401);
    assert.equal(((await after.json()) as Record<string, string>).error, 'invalid_client');
    assert.equal((await manage(uri, rat2)).status, 401);
  });

  for (const [field, value] of [
    ['registration_access_token', 'chosen-by-client'],
    ['registration_client_uri', 'https://evil.example/reg/x'],
    ['client_id_issued_at', 1],
    ['client_secret_expires_at', 0],
  ] as const) {
    it(`an update may not set the server-managed ${field}`, async () => {
      const created = (await (await register(gh, SERVICE)).json()) as Record<string, string>;
      const res = await manage(created.registration_client_uri!, created.registration_access_token!, { method: 'PUT', body: JSON.stringify({ ...SERVICE, client_id: created.client_id, [field]: value }) });
      assert.equal(res.status, 400);
      const body = (await res.json()) as Record<string, string>;
      assert.equal(body.error, 'invalid_request');
      assert.match(body.error_description!, new RegExp(field));
      assert.equal((await manage(created.registration_client_uri!, created.registration_access_token!)).status, 200, 'the refused update changed nothing');
    });
  }

  it('an update may not change the client_id or the secret', async () => {
    const created = (await (await register(gh, SERVICE)).json()) as Record<string, string>;
    const put = (doc: unknown) => manage(created.registration_client_uri!, created.registration_access_token!, { method: 'PUT', body: JSON.stringify(doc) });
    assert.equal((await put({ ...SERVICE, client_id: 'someone-else' })).status, 400);
    assert.equal((await put({ ...SERVICE, client_id: created.client_id, client_secret: 'chosen-by-client' })).status, 400);
  });

  it('an update is checked by the same metadata rules', async () => {
    const created = (await (await register(gh, SERVICE)).json()) as Record<string, string>;
    const res = await manage(created.registration_client_uri!, created.registration_access_token!, { method: 'PUT', body: JSON.stringify({ ...SERVICE, client_id: created.client_id, token_endpoint_auth_method: 'none' }) });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as Record<string, string>).error, 'invalid_client_metadata');
  });

  it("one client's registration access token cannot manage another client", async () => {
    const a = (await (await register(gh, SERVICE)).json()) as Record<string, string>;
    const b = (await (await register(gh, SERVICE)).json()) as Record<string, string>;
    assert.equal((await manage(b.registration_client_uri!, a.registration_access_token!)).status, 401);
    assert.equal((await manage(b.registration_client_uri!, a.registration_access_token!, { method: 'DELETE' })).status, 401);
    assert.equal((await clientCredentials(gh, b.client_id!, b.client_secret!)).status, 200);
  });
});

describe('token policy', () => {
  let gh: TestServer;
  let cliEnv: Record<string, string>;
  before(async () => {
    gh = await startTestServer({ GATEHOUSE_REGISTRATION: 'token', GATEHOUSE_STORE: 'sqlite' });
    cliEnv = { GATEHOUSE_DATA_DIR: gh.config.dataDir, GATEHOUSE_ISSUER: gh.config.issuer, GATEHOUSE_REGISTRATION: 'token' };
  });
  after(() => gh.stop());

  const createToken = async (args: string[] = []) => {
    const r = await runCli(['registration-token', 'create', ...args], { env: cliEnv });
    assert.equal(r.status, 0, r.stderr);
    const token = r.stdout.trim();
    assert.match(token, /^ghiat_[A-Za-z0-9_-]{40,}$/);
    return { token, stderr: r.stderr };
  };

  it('without an initial access token → 401 invalid_token', async () => {
    const r = await curl(['-d', SECRET_DOCUMENT, '-H', 'Content-Type: application/json', `${gh.publicUrl}/reg`]);
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_token');
    const res = await register(gh, SERVICE);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
  });

  it('with a made-up token → 401 invalid_token', async () => {
    const res = await register(gh, SERVICE, { authorization: 'Bearer ghiat_madeup' });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as Record<string, string>).error, 'invalid_token');
  });

  it('with a token created by the CLI → 201, and the token is stored only as a hash', async () => {
    const { token, stderr } = await createToken();
    assert.ok(!stderr.includes(token));
    const r = await curl(['-d', SECRET_DOCUMENT, '-H', 'Content-Type: application/json', '-H', `Authorization: Bearer ${token}`, `${gh.publicUrl}/reg`]);
    assert.equal(r.status, 201, r.body);
    const stored = await gh.store.list('RegistrationToken');
    assert.ok(stored.length >= 1);
    assert.ok(!JSON.stringify(stored).includes(token));
    assert.ok(!gh.logText().includes(token));
  });

  it('a token with --uses 2 allows exactly two registrations', async () => {
    const { token } = await createToken(['--uses', '2']);
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await register(gh, SERVICE, auth)).status, 201);
    assert.equal((await register(gh, SERVICE, auth)).status, 201);
    const third = await register(gh, SERVICE, auth);
    assert.equal(third.status, 401);
    const body = (await third.json()) as Record<string, string>;
    assert.equal(body.error, 'invalid_token');
    assert.match(body.error_description!, /no registrations left/);
  });

  it('concurrent registrations never exceed a token’s uses', async () => {
    const { token } = await createToken(['--uses', '3']);
    const results = await Promise.all(Array.from({ length: 8 }, () => register(gh, SERVICE, { authorization: `Bearer ${token}` })));
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 201, 201, 401, 401, 401, 401, 401]);
  });

  it('an expired token → 401', async () => {
    const { token } = await createToken(['--ttl', '1s']);
    const { hashRegistrationToken } = await import('../../../src/storage/registration_tokens.ts');
    const deadline = Date.now() + 10_000;
    while ((await gh.store.find('RegistrationToken', hashRegistrationToken(token))) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await register(gh, SERVICE, { authorization: `Bearer ${token}` });
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as Record<string, string>).error_description!, /invalid or expired/);
  });

  it('lists tokens by id without revealing them, and a revoked token → 401', async () => {
    const created = await runCli(['registration-token', 'create', '--uses', '5'], { env: cliEnv });
    const token = created.stdout.trim();
    const id = /\(id ([A-Za-z0-9_-]+)\)/.exec(created.stderr)?.[1];
    assert.ok(id, created.stderr);
    const list = await runCli(['registration-token', 'list'], { env: cliEnv });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${id}  expires \\S+  5 uses$`, 'm'));
    assert.ok(!list.stdout.includes(token));
    assert.equal((await register(gh, SERVICE, { authorization: `Bearer ${token}` })).status, 201);
    const revoke = await runCli(['registration-token', 'revoke', id], { env: cliEnv });
    assert.equal(revoke.status, 0, revoke.stderr);
    assert.equal((await register(gh, SERVICE, { authorization: `Bearer ${token}` })).status, 401);
    assert.equal((await runCli(['registration-token', 'revoke', id], { env: cliEnv })).status, 1);
  });

  it('rejects bad --ttl and --uses with exit status 2', async () => {
    for (const args of [['--ttl', 'soon'], ['--ttl', '0'], ['--uses', '0'], ['--uses', 'many']]) {
      const r = await runCli(['registration-token', 'create', ...args], { env: cliEnv });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });
});

describe('closed policy', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer({ GATEHOUSE_REGISTRATION: 'closed' });
  });
  after(() => gh.stop());

  it('refuses registration and does not advertise the endpoint', async () => {
    const r = await curl(['-d', SECRET_DOCUMENT, '-H', 'Content-Type: application/json', `${gh.publicUrl}/reg`]);
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'access_denied');
    assert.match(r.json.error_description as string, /closed/);
    const discovery = (await (await fetch(`${gh.publicUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(discovery.registration_endpoint, undefined);
  });
});

describe('registration rate limit', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer({ GATEHOUSE_REGISTRATION_RATE_LIMIT: '3', GATEHOUSE_REGISTRATION_RATE_WINDOW: '1h' });
  });
  after(() => gh.stop());

  it('answers 429 with Retry-After once an address has made too many registrations', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await register(gh, SERVICE)).status, 201);
    const res = await register(gh, SERVICE);
    assert.equal(res.status, 429);
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 3600);
    assert.equal(((await res.json()) as Record<string, string>).error, 'too_many_requests');
  });

  it('counts bad registrations too, and never reaches oidc-provider once limited', async () => {
    const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"redirect_uris":["javascript:alert(1)"]}' });
    assert.equal(res.status, 429);
  });
});
