import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

// Rules an authorization request must meet before anyone is asked to sign in: PKCE S256 for every
// client, exact redirect URI matching except the port of a native client's loopback URI.
let gh: TestServer;
const verifier = randomBytes(32).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-authz-'));
  writeFileSync(
    join(dir, 'clients.json'),
    JSON.stringify([
      {
        client_id: 'cli-native',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback', 'com.example.cli:/callback'],
      },
      {
        client_id: 'web-app',
        client_secret: 'web-app-secret-0123456789abcdefghij',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['https://app.example.com/cb'],
      },
    ]),
  );
  gh = await startTestServer({ GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json') });
});
after(() => gh.stop());

function authorize(params: Record<string, string | undefined>): Promise<Response> {
  const url = new URL(`${gh.publicUrl}/auth`);
  const all: Record<string, string | undefined> = { response_type: 'code', scope: 'openid', state: 'st-123', code_challenge: challenge, code_challenge_method: 'S256', ...params };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return fetch(url, { redirect: 'manual' });
}

function goesToSignIn(res: Response): void {
  assert.equal(res.status, 303, `expected the sign-in redirect, got ${res.status}`);
  assert.match(res.headers.get('location') ?? '', /^\/interaction\/[\w-]+$/);
}

describe('authorization requests', () => {
  it('a native client may use its loopback redirect URI on any port', async () => {
    for (const port of ['49152', '5000', '65535']) goesToSignIn(await authorize({ client_id: 'cli-native', redirect_uri: `http://127.0.0.1:${port}/callback` }));
    goesToSignIn(await authorize({ client_id: 'cli-native', redirect_uri: 'http://127.0.0.1/callback' }));
  });

  it('a native client may use its private-use URI scheme', async () => {
    goesToSignIn(await authorize({ client_id: 'cli-native', redirect_uri: 'com.example.cli:/callback' }));
  });

  it('a web client uses its exact redirect URI', async () => {
    goesToSignIn(await authorize({ client_id: 'web-app', redirect_uri: 'https://app.example.com/cb' }));
  });

  describe('PKCE is required for every client, S256 only', () => {
    for (const client_id of ['cli-native', 'web-app']) {
      const redirect_uri = client_id === 'web-app' ? 'https://app.example.com/cb' : 'http://127.0.0.1:5000/callback';
      for (const [name, params] of [
        ['no code_challenge', { code_challenge: undefined, code_challenge_method: undefined }],
        ['the plain method', { code_challenge: verifier, code_challenge_method: 'plain' }],
        ['a too short challenge', { code_challenge: 'abc' }],
      ] as const) {
        it(`${client_id}: ${name} is sent back as invalid_request with state and iss`, async () => {
          const res = await authorize({ client_id, redirect_uri, ...params });
          assert.equal(res.status, 303);
          const location = new URL(res.headers.get('location')!);
          assert.equal(`${location.origin}${location.pathname}`, redirect_uri.replace(':5000', ':5000'));
          assert.equal(location.searchParams.get('error'), 'invalid_request');
          assert.equal(location.searchParams.get('state'), 'st-123');
          assert.equal(location.searchParams.get('iss'), gh.config.issuer);
        });
      }
    }
  });

  describe('redirect URIs that do not match exactly are refused without redirecting', () => {
    const web = [
      ['upper case', 'https://APP.example.com/CB'],
      ['trailing slash', 'https://app.example.com/cb/'],
      ['extra query', 'https://app.example.com/cb?x=1'],
      ['dot segments', 'https://app.example.com/x/../cb'],
      ['fragment', 'https://app.example.com/cb#frag'],
      ['userinfo', 'https://evil@app.example.com/cb'],
      ['another port', 'https://app.example.com:8443/cb'],
      ['http instead of https', 'http://app.example.com/cb'],
      ['another host', 'https://app.example.com.evil.example/cb'],
    ];
    for (const [name, redirect_uri] of web) {
      it(`web client: ${name}`, async () => {
        const res = await authorize({ client_id: 'web-app', redirect_uri });
        assert.equal(res.status, 400, `${redirect_uri} → ${res.status} ${res.headers.get('location')}`);
        assert.equal(res.headers.get('location'), null);
        assert.match(await res.text(), /invalid_redirect_uri/);
      });
    }
    const native = [
      ['[::1] for a registered 127.0.0.1', 'http://[::1]:5000/callback'],
      ['localhost for a registered 127.0.0.1', 'http://localhost:5000/callback'],
      ['another path', 'http://127.0.0.1:5000/other'],
      ['https on loopback', 'https://127.0.0.1:5000/callback'],
      ['extra query', 'http://127.0.0.1:5000/callback?x=1'],
      ['another scheme', 'com.evil.cli:/callback'],
    ];
    for (const [name, redirect_uri] of native) {
      it(`native client: ${name}`, async () => {
        const res = await authorize({ client_id: 'cli-native', redirect_uri });
        assert.equal(res.status, 400, `${redirect_uri} → ${res.status} ${res.headers.get('location')}`);
        assert.equal(res.headers.get('location'), null);
        assert.match(await res.text(), /invalid_redirect_uri/);
      });
    }
    it('a browser gets a readable page, not a redirect', async () => {
      const url = new URL(`${gh.publicUrl}/auth`);
      url.search = new URLSearchParams({ client_id: 'web-app', redirect_uri: 'https://evil.example/cb', response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }).toString();
      const res = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
      assert.equal(res.status, 400);
      const html = await res.text();
      assert.match(html, /invalid_redirect_uri/);
      assert.ok(!html.includes('<script'), 'no script on the error page');
    });
  });
});
