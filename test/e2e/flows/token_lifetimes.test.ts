import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Accounts } from '../../../src/accounts/account.ts';
import { CookieClient } from '../../helpers/browserless.ts';
import { authorizeWithForms, pkce, tokenRequest } from '../../helpers/code_flow.ts';
import { ALICE, approveWithForms, DEVICE_GRANT, pollOnce, requestDeviceCode } from '../../helpers/device.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

// GATEHOUSE_ACCESS_TOKEN_TTL decides expires_in for every grant, and an API's own accessTokenTTL
// (GATEHOUSE_RESOURCE_SERVERS_FILE) wins for tokens issued for it. A setting no default equals.
const TTL = 137;
const API_TTL = 300;
const SECRET = 'lifetime-service-secret-0123456789abcdef';
const REDIRECT = 'http://127.0.0.1:53682/callback';
let dir: string;
let server: TestServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-lifetimes-'));
  writeFileSync(join(dir, 'clients.json'), JSON.stringify([
    { client_id: 'svc', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    {
      client_id: 'cli',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
  ]));
  writeFileSync(join(dir, 'resources.json'), JSON.stringify({
    'https://api.example.com': { scope: 'read', accessTokenTTL: API_TTL },
    'https://plain.example.com': { scope: 'read' },
  }));
  server = await startTestServer({
    GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'),
    GATEHOUSE_RESOURCE_SERVERS_FILE: join(dir, 'resources.json'),
    GATEHOUSE_ACCESS_TOKEN_TTL: `${TTL}s`,
    GATEHOUSE_DEVICE_POLL_INTERVAL: '1s',
  });
  await new Accounts(server.store).create(ALICE);
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const SVC = { id: 'svc', secret: SECRET };

/** A code for `cli` through the sign-in and consent forms, exchanged for tokens. */
async function codeTokens(): Promise<Record<string, unknown>> {
  const p = pkce();
  const url = await authorizeWithForms(server, new CookieClient(server), {
    client_id: 'cli', redirect_uri: REDIRECT, code_challenge: p.challenge, code_challenge_method: 'S256', scope: 'openid offline_access', prompt: 'consent',
  });
  const answer = await tokenRequest(server, { grant_type: 'authorization_code', code: url.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: p.verifier, client_id: 'cli' });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

describe('expires_in follows the configured access token lifetime for every grant', () => {
  it('client_credentials', async () => {
    const r = await tokenRequest(server, { grant_type: 'client_credentials' }, SVC);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.expires_in, TTL);
  });

  it('client_credentials for an API: its own accessTokenTTL, or the setting when it has none', async () => {
    const own = await tokenRequest(server, { grant_type: 'client_credentials', resource: 'https://api.example.com', scope: 'read' }, SVC);
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.equal(own.body.expires_in, API_TTL);
    const plain = await tokenRequest(server, { grant_type: 'client_credentials', resource: 'https://plain.example.com', scope: 'read' }, SVC);
    assert.equal(plain.body.expires_in, TTL);
  });

  it('authorization_code, then refresh_token', async () => {
    const first = await codeTokens();
    assert.equal(first.expires_in, TTL);
    assert.equal(typeof first.refresh_token, 'string');
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: String(first.refresh_token), client_id: 'cli' });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(refreshed.body.expires_in, TTL);
  });

  it('urn:ietf:params:oauth:grant-type:device_code', async () => {
    const auth = await requestDeviceCode(server, 'cli', 'openid');
    await approveWithForms(server, auth.user_code);
    const r = await pollOnce(server, auth.device_code, 'cli');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.expires_in, TTL);
  });
});
