import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { clientsFile, curl, tlsClient } from '../../helpers/mtls_curl.ts';
import { devPki, thumbprint, type Pair } from '../../helpers/pki.ts';

// Certificate-bound access tokens (RFC 8705 §3) and JWT access tokens for resource servers
// (RFC 9068 via RFC 8707 resource indicators), over the real mTLS listener.
const RS_SECRET = 'resource-server-secret-4f1d9b2c7e';
let dir: string;
let gh: TestServer;
let rootCa: string;
let mine: Pair;
let other: Pair;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-mtls-bound-'));
  const pki = await devPki(join(dir, 'certs'));
  rootCa = pki.rootCa;
  mine = await pki.issue(dir, 'bound', { email: ['bound@example.com'] });
  other = await pki.issue(dir, 'bound-2', { email: ['bound@example.com'] });
  const resources = join(dir, 'resources.json');
  writeFileSync(resources, JSON.stringify({
    'https://api.example.com': { scope: 'read write' },
    'https://legacy.example.com': { scope: 'read', accessTokenFormat: 'opaque' },
  }));
  gh = await startTestServer({
    GATEHOUSE_CERTS_DIR: join(dir, 'certs'),
    GATEHOUSE_RESOURCE_SERVERS_FILE: resources,
    GATEHOUSE_CLIENTS_FILE: clientsFile([
      tlsClient('bound', { tls_client_auth_san_email: 'bound@example.com' }, { tls_client_certificate_bound_access_tokens: true }),
      { client_id: 'rs', client_secret: RS_SECRET, grant_types: [], response_types: [], redirect_uris: [], introspect_any_token: true },
    ]),
  });
});
after(async () => {
  await gh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const tokenFor = (pair: Pair | undefined, extra = '') =>
  curl(`${gh.mtlsUrl}/token`, { cacert: rootCa, cert: pair?.cert, key: pair?.key, data: `client_id=bound&grant_type=client_credentials${extra}` });

async function introspect(token: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${gh.publicUrl}/token/introspection`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`rs:${RS_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

describe('certificate-bound access tokens', () => {
  it('an opaque token is bound to the certificate and introspection shows cnf.x5t#S256', async () => {
    const res = await tokenFor(mine);
    assert.equal(res.status, 200, res.raw);
    const info = await introspect(res.body.access_token as string);
    assert.equal(info.active, true);
    assert.deepEqual(info.cnf, { 'x5t#S256': thumbprint(mine.cert) });
  });

  it('introspection and revocation work on the mTLS listener with tls_client_auth', async () => {
    const value = (await tokenFor(mine)).body.access_token as string;
    const own = await curl(`${gh.mtlsUrl}/token/introspection`, { cacert: rootCa, cert: mine.cert, key: mine.key, data: `client_id=bound&token=${value}` });
    assert.equal(own.status, 200, own.raw);
    assert.equal(own.body.active, true);
    const revoked = await curl(`${gh.mtlsUrl}/token/revocation`, { cacert: rootCa, cert: mine.cert, key: mine.key, data: `client_id=bound&token=${value}` });
    assert.equal(revoked.status, 200, revoked.raw);
    assert.equal((await introspect(value)).active, false);
  });

  it('a bound client presenting no certificate gets no token', async () => {
    const res = await tokenFor(undefined);
    assert.equal(res.status, 401, res.raw);
    assert.equal(res.body.error, 'invalid_client');
  });

  it('userinfo over mTLS enforces the binding: the same certificate works, another or none is refused', async () => {
    const { provider, store } = gh;
    await store.upsert('Account', 'alice', { accountId: 'alice' });
    const client = await provider.Client.find('bound');
    assert.ok(client);
    const grant = new provider.Grant({ accountId: 'alice', clientId: 'bound' });
    grant.addOIDCScope('openid');
    const grantId = await grant.save();
    const at = new provider.AccessToken({ accountId: 'alice', client, grantId, scope: 'openid', gty: 'authorization_code' });
    at.setThumbprint('x5t', new X509Certificate(readFileSync(mine.cert)));
    const value = await at.save();

    const me = (pair?: Pair, base = gh.mtlsUrl!) => curl(`${base}/me`, { cacert: rootCa, cert: pair?.cert, key: pair?.key, bearer: value });
    const ok = await me(mine);
    assert.equal(ok.status, 200, ok.raw);
    assert.equal(ok.body.sub, 'alice');
    for (const res of [await me(other), await me(undefined), await me(undefined, gh.publicUrl)]) {
      assert.equal(res.status, 401, res.raw);
      assert.equal(res.body.error, 'invalid_token', res.raw);
    }
  });
});

describe('JWT access tokens for resource servers', () => {
  it('a token for a configured API is an ES256 JWT (RFC 9068) with its audience and cnf, valid against /jwks', async () => {
    const res = await tokenFor(mine, '&resource=https%3A%2F%2Fapi.example.com&scope=read');
    assert.equal(res.status, 200, res.raw);
    const jwt = res.body.access_token as string;
    assert.equal(decodeProtectedHeader(jwt).alg, 'ES256');
    assert.equal(decodeProtectedHeader(jwt).typ, 'at+jwt');
    const jwks = (await (await fetch(`${gh.publicUrl}/jwks`)).json()) as { keys: [] };
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: gh.config.issuer, audience: 'https://api.example.com', typ: 'at+jwt' });
    assert.equal(payload.client_id, 'bound');
    assert.equal(payload.scope, 'read');
    assert.deepEqual(payload.cnf, { 'x5t#S256': thumbprint(mine.cert) });
  });

  it('an API configured for opaque tokens gets an opaque token, introspectable with its audience', async () => {
    const res = await tokenFor(mine, '&resource=https%3A%2F%2Flegacy.example.com&scope=read');
    assert.equal(res.status, 200, res.raw);
    const value = res.body.access_token as string;
    assert.notEqual(value.split('.').length, 3);
    const info = await introspect(value);
    assert.equal(info.aud, 'https://legacy.example.com');
  });

  it('an unknown resource indicator is invalid_target', async () => {
    const res = await tokenFor(mine, '&resource=https%3A%2F%2Funknown.example.com');
    assert.equal(res.status, 400, res.raw);
    assert.equal(res.body.error, 'invalid_target');
  });
});
