import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Provider from 'oidc-provider';
import { generateSigningKey } from '../../../src/keys/key_generation.ts';
import { startMongo, type MongoServer } from '../../helpers/mongodb.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const REDIRECT = 'https://app.example.test/cb';
const WEB_SECRET = 'web-secret-0123456789abcdef-redemption';
const RACERS = 12;

let mongo: MongoServer;
let dir: string;
let replicas: TestServer[] = [];

/**
 * Concurrent redemptions spread over two Gatehouse instances (separate providers and database
 * connections) on one MongoDB database: exactly one request wins, the others get invalid_grant.
 * The codes and refresh tokens are minted through oidc-provider's own models, as its
 * authorization and token endpoints would.
 */
before(async () => {
  mongo = await startMongo();
  dir = mkdtempSync(join(tmpdir(), 'gh-redemption-'));
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [await generateSigningKey('RS256'), await generateSigningKey('ES256')] }), { mode: 0o600 });
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(
    clientsFile,
    JSON.stringify([
      { client_id: 'web', client_secret: WEB_SECRET, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [REDIRECT] },
      // Public clients' refresh tokens rotate, so each refresh consumes the old token.
      { client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [REDIRECT] },
    ]),
  );
  const env = {
    MONGODB_URI: mongo.uri(),
    GATEHOUSE_JWKS_FILE: jwksFile,
    GATEHOUSE_COOKIE_KEYS: randomBytes(32).toString('base64url'),
    GATEHOUSE_CLIENTS_FILE: clientsFile,
  };
  replicas = [await startTestServer(env), await startTestServer(env)];
  await replicas[0]!.store.upsert('Account', 'alice', { sub: 'alice' });
});

after(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await mongo.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function grantFor(provider: Provider, clientId: string): Promise<string> {
  const grant = new provider.Grant({ accountId: 'alice', clientId });
  grant.addOIDCScope('openid offline_access');
  return grant.save();
}

/** Fires the same token request at both replicas at once; returns each status and error. */
async function race(body: Record<string, string>, headers: Record<string, string> = {}): Promise<Array<{ status: number; error?: string; refresh?: string }>> {
  const requests = Array.from({ length: RACERS }, (_, i) =>
    fetch(`${replicas[i % 2]!.publicUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(body).toString(),
    }).then(async (res) => {
      const json = (await res.json()) as { error?: string; refresh_token?: string };
      return { status: res.status, error: json.error, refresh: json.refresh_token };
    }),
  );
  return Promise.all(requests);
}

function assertOneWinner(results: Array<{ status: number; error?: string }>): void {
  assert.equal(results.filter((r) => r.status === 200).length, 1, JSON.stringify(results));
  for (const r of results.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 400);
    assert.equal(r.error, 'invalid_grant');
  }
}

describe('concurrent redemption on the MongoDB store, across two instances', () => {
  it('one authorization code redeemed concurrently: exactly one token response', async () => {
    const provider = replicas[0]!.provider;
    const client = (await provider.Client.find('web'))!;
    const verifier = randomBytes(32).toString('base64url');
    const code = new provider.AuthorizationCode({
      client,
      accountId: 'alice',
      grantId: await grantFor(provider, 'web'),
      scope: 'openid offline_access',
      redirectUri: REDIRECT,
      authTime: Math.floor(Date.now() / 1000),
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      codeChallengeMethod: 'S256',
      gty: 'authorization_code',
    });
    const value = await code.save();
    const basic = { authorization: `Basic ${Buffer.from(`web:${WEB_SECRET}`).toString('base64')}` };
    const body = { grant_type: 'authorization_code', code: value, redirect_uri: REDIRECT, code_verifier: verifier };
    assertOneWinner(await race(body, basic));
    // Consumed, or already removed with its grant by a loser that saw the code reused.
    const stored = await replicas[1]!.store.find('AuthorizationCode', value);
    assert.ok(stored === undefined || typeof stored.consumed === 'number');
    const again = await race(body, basic);
    assert.ok(again.every((r) => r.status === 400 && r.error === 'invalid_grant'));
  });

  it('one rotating refresh token redeemed concurrently: exactly one new token pair', async () => {
    const provider = replicas[1]!.provider;
    const client = (await provider.Client.find('cli'))!;
    const refresh = new provider.RefreshToken({
      client,
      accountId: 'alice',
      grantId: await grantFor(provider, 'cli'),
      scope: 'openid offline_access',
      gty: 'authorization_code',
      authTime: Math.floor(Date.now() / 1000),
    });
    const value = await refresh.save();
    const results = await race({ grant_type: 'refresh_token', refresh_token: value, client_id: 'cli' });
    assertOneWinner(results);
    const rotated = results.find((r) => r.status === 200)!.refresh;
    assert.ok(rotated && rotated !== value, 'the winner got a new refresh token');
  });
});
