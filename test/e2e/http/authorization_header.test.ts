import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseAuthorization } from '../../../src/http/authorization.ts';
import { createRegistrationToken } from '../../../src/storage/registration_tokens.ts';
import { CookieClient } from '../../helpers/browserless.ts';
import { authorizeWithForms, pkce, startCodeServer, tokenRequest, type CodeServer } from '../../helpers/code_flow.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdefghijklmnop';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Spellings RFC 9110 §11.1/§11.6.2 allow besides the usual `Bearer <token>`. */
const SPELLINGS = [
  (scheme: string, v: string) => `${scheme.toLowerCase()} ${v}`,
  (scheme: string, v: string) => `${scheme}  ${v}`,
  (scheme: string, v: string) => `${scheme.toUpperCase()}\t${v}`,
  (scheme: string, v: string) => `${scheme.toLowerCase()} \t ${v}`,
];
const basic = (id: string, secret: string) => Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

describe('parseAuthorization', () => {
  it('is case-insensitive in the scheme and takes any run of spaces and tabs', () => {
    for (const spell of SPELLINGS) assert.deepEqual(parseAuthorization(spell('Bearer', 'abc.def')), { scheme: 'bearer', credentials: 'abc.def' });
  });
  it('refuses a header without credentials', () => {
    for (const h of ['Bearer', 'Bearer ', '', ' ', 'Bearer\t']) assert.equal(parseAuthorization(h), undefined, JSON.stringify(h));
  });
});

describe('the Authorization header at every endpoint that reads it', () => {
  let gh: CodeServer;
  let clientId: string;
  let clientSecret: string;
  let registrationAccessToken: string;
  let userToken: string;

  before(async () => {
    gh = await startCodeServer({ GATEHOUSE_REGISTRATION: 'token', GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN });
    const { verifier, challenge } = pkce();
    const redirect = await authorizeWithForms(gh, new CookieClient(gh), {
      client_id: 'xxctl', redirect_uri: 'http://127.0.0.1/callback', code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid email',
    });
    const token = await tokenRequest(gh, { grant_type: 'authorization_code', client_id: 'xxctl', code: redirect.searchParams.get('code')!, redirect_uri: 'http://127.0.0.1/callback', code_verifier: verifier });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    userToken = token.body.access_token as string;
  });
  after(() => gh.stop());

  it('registration (RFC 7591): the initial access token with a lower-case scheme and two spaces', async () => {
    const { token } = await createRegistrationToken(gh.store, { ttlSeconds: 600 });
    const res = await fetch(`${gh.publicUrl}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `bearer  ${token}` },
      body: JSON.stringify({ redirect_uris: [], response_types: [], grant_types: ['client_credentials', DEVICE_GRANT], token_endpoint_auth_method: 'client_secret_basic' }),
    });
    const body = (await res.json()) as Record<string, string>;
    assert.equal(res.status, 201, JSON.stringify(body));
    clientId = body.client_id!;
    clientSecret = body.client_secret!;
    registrationAccessToken = body.registration_access_token!;
    // A wrong scheme is still refused.
    const wrong = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${token}` }, body: '{}' });
    assert.equal(wrong.status, 401);
  });

  it('client management (RFC 7592) reads the registration access token in every spelling', async () => {
    for (const spell of SPELLINGS) {
      const res = await fetch(`${gh.publicUrl}/reg/${clientId}`, { headers: { authorization: spell('Bearer', registrationAccessToken) } });
      assert.equal(res.status, 200, `${JSON.stringify(spell('Bearer', 'x'))}: ${await res.text()}`);
    }
  });

  it('userinfo (/me) reads the access token in every spelling', async () => {
    for (const spell of SPELLINGS) {
      const res = await fetch(`${gh.publicUrl}/me`, { headers: { authorization: spell('Bearer', userToken) } });
      const body = await res.text();
      assert.equal(res.status, 200, `${JSON.stringify(spell('Bearer', 'x'))}: ${body}`);
      assert.equal((JSON.parse(body) as { email?: string }).email, 'alice@example.com');
    }
    const wrong = await fetch(`${gh.publicUrl}/me`, { headers: { authorization: `Bearer  not-a-token` } });
    assert.equal(wrong.status, 401);
  });

  it('HTTP Basic client authentication at token, introspection, revocation and device authorization', async () => {
    for (const spell of SPELLINGS) {
      const label = JSON.stringify(spell('Basic', 'x'));
      const authorization = spell('Basic', basic(clientId, clientSecret));
      const token = await fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: { authorization }, body: new URLSearchParams({ grant_type: 'client_credentials' }) });
      assert.equal(token.status, 200, `${label}: ${await token.clone().text()}`);
      const accessToken = ((await token.json()) as { access_token: string }).access_token;
      const introspection = await fetch(`${gh.publicUrl}/token/introspection`, { method: 'POST', headers: { authorization }, body: new URLSearchParams({ token: accessToken }) });
      assert.equal(introspection.status, 200, label);
      assert.equal(((await introspection.json()) as { active: boolean }).active, true, label);
      const revocation = await fetch(`${gh.publicUrl}/token/revocation`, { method: 'POST', headers: { authorization }, body: new URLSearchParams({ token: accessToken }) });
      assert.equal(revocation.status, 200, label);
      const device = await fetch(`${gh.publicUrl}/device/auth`, { method: 'POST', headers: { authorization }, body: new URLSearchParams({ scope: 'openid' }) });
      assert.equal(device.status, 200, `${label}: ${await device.text()}`);
    }
    const wrong = await fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: { authorization: `basic  ${basic(clientId, 'wrong')}` }, body: new URLSearchParams({ grant_type: 'client_credentials' }) });
    assert.equal(wrong.status, 401);
  });

  it('the admin /metrics token in every spelling, and nothing else', async () => {
    const url = `http://127.0.0.1:${gh.ports.admin}/metrics`;
    for (const spell of [...SPELLINGS, (s: string, v: string) => `${s} ${v}`]) {
      const res = await fetch(url, { headers: { authorization: spell('Bearer', METRICS_TOKEN) } });
      assert.equal(res.status, 200, JSON.stringify(spell('Bearer', 'x')));
    }
    for (const authorization of [`Basic ${METRICS_TOKEN}`, `Bearer ${METRICS_TOKEN}x`, `Bearer`, METRICS_TOKEN]) {
      assert.equal((await fetch(url, { headers: { authorization } })).status, 401, authorization);
    }
    assert.equal((await fetch(url)).status, 401);
  });
});
