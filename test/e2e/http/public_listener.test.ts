import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const SECRET = 'static-secret-7f3c9a1e5b2d4f6a8c0e';
let gh: TestServer;

before(async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'gh-clients-'));
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([
    { client_id: 'svc-a', client_secret: SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' },
  ]));
  gh = await startTestServer({ GATEHOUSE_STORE: 'sqlite', GATEHOUSE_CLIENTS_FILE: clientsFile });
});
after(() => gh.stop());

const url = (path: string) => `${gh.publicUrl}${path}`;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('public listener', () => {
  it('serves discovery with the configured issuer', async () => {
    const res = await fetch(url('/.well-known/openid-configuration'));
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.issuer, gh.config.issuer);
    assert.equal(body.token_endpoint, `${gh.config.issuer}/token`);
  });

  it('a Host or X-Forwarded-Host header changes no URL in discovery', async () => {
    const res = await fetch(url('/.well-known/openid-configuration'), { headers: { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' } });
    const text = await res.text();
    assert.ok(!text.includes('evil.example'), text);
  });

  it('an absolute-form request target or a forged Host changes no URL either, on an answer built per request', async () => {
    // A query string keeps the answer out of the document cache: oidc-provider builds it from ctx.href.
    const port = new URL(gh.publicUrl).port;
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: 'http://evil.example/.well-known/openid-configuration?x=1', headers: { Host: 'evil.example' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode}: ${text}`))));
      });
      req.on('error', reject);
      req.end();
    });
    assert.ok(!body.includes('evil.example'), body);
    assert.equal((JSON.parse(body) as { token_endpoint: string }).token_endpoint, `${gh.config.issuer}/token`);
  });

  it('serves the public halves of an RS256 and an ES256 key at /jwks', async () => {
    const { keys } = (await (await fetch(url('/jwks'))).json()) as { keys: Array<Record<string, unknown>> };
    assert.deepEqual(keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    for (const k of keys) assert.equal(k.d, undefined);
  });

  it('liveness and readiness answer', async () => {
    assert.equal((await fetch(url('/healthz/live'))).status, 200);
    const ready = await fetch(url('/healthz/ready'));
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ok', store: 'sqlite' });
  });

  it('sends a strict CSP and the other security headers with a page', async () => {
    const res = await fetch(url('/device'));
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.ok(!csp.includes('unsafe-inline'));
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.ok(res.headers.get('x-request-id'));
  });

  it('sends the API set of security headers with JSON answers (success and error alike)', async () => {
    const answers = [
      await fetch(url('/healthz/live')),
      await fetch(url('/.well-known/openid-configuration')),
      await fetch(url('/jwks')),
      await fetch(url('/token'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' }),
    ];
    for (const res of answers) {
      assert.match(res.headers.get('content-type') ?? '', /json/, res.url);
      assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", res.url);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', res.url);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', res.url);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', res.url);
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin', res.url);
      assert.equal(res.headers.get('x-xss-protection'), null, res.url);
    }
    assert.equal(answers[3]!.status, 400); // no client authentication: invalid_request
  });

  it('issues a client_credentials token to a static client and keeps the secret out of the logs', async () => {
    const res = await fetch(url('/token'), {
      method: 'POST',
      headers: { authorization: basic('svc-a', SECRET), 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'cc-test-1' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'Bearer');
    assert.ok(body.access_token.length > 20);
    const lines = gh.logs.filter((l) => l.reqId === 'cc-test-1');
    assert.ok(lines.length >= 1, 'request lines carry the request id');
    const text = gh.logText();
    assert.ok(!text.includes(SECRET), 'secret in logs');
    assert.ok(!text.includes(basic('svc-a', SECRET).slice(6)), 'authorization header in logs');
    assert.ok(!text.includes(body.access_token), 'token in logs');
  });

  it('a wrong client secret is 401 invalid_client', async () => {
    const res = await fetch(url('/token'), {
      method: 'POST',
      headers: { authorization: basic('svc-a', 'wrong'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
  });

  describe('bad input gets a 4xx with a JSON body, never a 500', () => {
    const cases: Array<[string, string, RequestInit]> = [
      ['unknown path', '/no/such/thing', {}],
      ['unknown path with POST', '/admin', { method: 'POST', body: 'x' }],
      ['wrong content type on /token', '/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' }],
      ['malformed form body', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '%%%&&&===' }],
      ['no grant_type', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' }],
      ['unsupported grant type', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic c3ZjLWE6eA==' }, body: 'grant_type=password&username=a&password=b' }],
      ['garbage basic auth', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic !!!notbase64' }, body: 'grant_type=client_credentials' }],
      ['oversized body', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&pad=${'a'.repeat(200_000)}` }],
      ['malformed JSON to registration', '/reg', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' }],
      ['DELETE on health', '/healthz/live', { method: 'DELETE' }],
      ['introspection without auth', '/token/introspection', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=abc' }],
      ['path traversal on static', '/static/../../package.json', {}],
      ['userinfo with garbage token', '/me', { headers: { authorization: 'Bearer garbage' } }],
    ];
    for (const [name, path, init] of cases) {
      it(name, async () => {
        const res = await fetch(url(path), init);
        assert.ok(res.status >= 400 && res.status < 500, `${name}: status ${res.status}`);
        const text = await res.text();
        const body = JSON.parse(text) as { error?: string };
        assert.equal(typeof body.error, 'string', text);
        assert.ok(!/at .*\.(ts|js):\d+/.test(text), 'no stack trace');
      });
    }
    it('a browser asking for an unknown page gets a readable HTML page', async () => {
      const res = await fetch(url('/nowhere'), { headers: { accept: 'text/html' } });
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await res.text(), /Something went wrong/);
    });
  });
});
