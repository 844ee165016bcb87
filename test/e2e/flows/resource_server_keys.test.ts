import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify, type JWK } from 'jose';
import { generateSigningKey } from '../../../src/keys/key_generation.ts';
import { ConfigError } from '../../../src/shared/errors.ts';
import { tokenRequest } from '../../helpers/code_flow.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

// A resource server (GATEHOUSE_RESOURCE_SERVERS_FILE) whose signingAlg no active key can sign
// would answer every token request for it with 500: such a key set stops the start; a running
// server applies it anyway (a removed key must stop signing) and refuses only that API.
const SECRET = 'resource-keys-service-secret-0123456789';
const SVC = { id: 'svc', secret: SECRET };
const API = 'https://ed.example.com';
let dir: string;
let rs256: JWK;
let es256: JWK;
let ed25519: JWK;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-rs-keys-'));
  writeFileSync(join(dir, 'clients.json'), JSON.stringify([
    { client_id: 'svc', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
  ]));
  writeFileSync(join(dir, 'resources.json'), JSON.stringify({
    [API]: { scope: 'read', signingAlg: 'EdDSA' },
    'https://es.example.com': { scope: 'read' },
  }));
  [rs256, es256] = [await generateSigningKey('RS256'), await generateSigningKey('ES256')];
  // As an operator adds one by hand: no alg, no use.
  ed25519 = { ...(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as JWK), kid: 'ed-by-hand' };
});
after(() => rmSync(dir, { recursive: true, force: true }));

function env(jwksFile: string): Record<string, string> {
  return { GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'), GATEHOUSE_RESOURCE_SERVERS_FILE: join(dir, 'resources.json'), GATEHOUSE_JWKS_FILE: jwksFile };
}

function writeKeys(path: string, keys: JWK[]): void {
  writeFileSync(path, JSON.stringify({ keys }), { mode: 0o600 });
}

/** The ConfigError a start with `jwksFile` fails with; a server that starts anyway is stopped. */
async function refusedStart(jwksFile: string): Promise<ConfigError> {
  let server: TestServer;
  try {
    server = await startTestServer(env(jwksFile));
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  await server.stop();
  assert.fail('the server started');
}

/** A client_credentials token for `resource`, verified against the server's /jwks. */
async function apiToken(server: TestServer, resource: string): Promise<{ alg: string; kid?: string }> {
  const answer = await tokenRequest(server, { grant_type: 'client_credentials', resource, scope: 'read' }, SVC);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const { protectedHeader } = await jwtVerify(String(answer.body.access_token), createRemoteJWKSet(new URL(`${server.publicUrl}/jwks`)), { audience: resource });
  return { alg: protectedHeader.alg, kid: protectedHeader.kid };
}

describe('a resource server whose signingAlg has no active key', () => {
  it('refuses to start, naming the file, the resource indicator, the algorithm and what the keys sign', async () => {
    const jwksFile = join(dir, 'no-ed.json');
    writeKeys(jwksFile, [rs256, es256]);
    const { problems } = await refusedStart(jwksFile);
    assert.equal(problems.length, 1, 'only the EdDSA API; the ES256 one has its key');
    const [problem] = problems;
    assert.match(problem!, /^GATEHOUSE_RESOURCE_SERVERS_FILE: /);
    assert.ok(problem!.includes(join(dir, 'resources.json')), problem);
    assert.ok(problem!.includes(`${API} has signingAlg EdDSA`), problem);
    assert.ok(problem!.includes(jwksFile), problem);
    assert.match(problem!, /the active keys sign ES256, RS256\. Add a key for EdDSA \(`gatehouse keys add EdDSA`, see README "Signing key rotation"\)/);
  });

  it('a key that is only published (not yet active) does not count', async () => {
    const jwksFile = join(dir, 'next-ed.json');
    writeKeys(jwksFile, [rs256, es256, { ...ed25519, gh_activate_at: Math.floor(Date.now() / 1000) + 3600 } as JWK]);
    assert.match((await refusedStart(jwksFile)).message, /has signingAlg EdDSA/);
  });

  it('a running server applies a key set that drops it (a removed key must stop signing): that API answers 503 temporarily_unavailable, the others keep working, the reason is logged', async () => {
    const jwksFile = join(dir, 'hot.json');
    writeKeys(jwksFile, [rs256, es256, ed25519]);
    const server = await startTestServer(env(jwksFile));
    try {
      assert.deepEqual(await apiToken(server, API), { alg: 'EdDSA', kid: 'ed-by-hand' });

      // The operator takes the (say, compromised) Ed25519 key out.
      writeKeys(jwksFile, [rs256, es256]);
      const deadline = Date.now() + 10_000;
      let unusable: Record<string, unknown> | undefined;
      while (!(unusable = server.logs.find((l) => l.event === 'keys.resource_server_unusable')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(unusable, 'a keys.resource_server_unusable line within 10 s');
      assert.equal(unusable.level, 'error');
      assert.equal(unusable.resource, API);
      assert.match(String(unusable.msg), new RegExp(`${API} has signingAlg EdDSA, but no active key .* signs EdDSA`));
      for (let i = 0; i < 50 && !server.logs.some((l) => l.event === 'keys.rotated'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(server.logs.some((l) => l.event === 'keys.rotated'), 'the new key set was swapped in');

      const published = ((await (await fetch(`${server.publicUrl}/jwks`)).json()) as { keys: JWK[] }).keys.map((k) => k.kid);
      assert.ok(!published.includes('ed-by-hand'), 'the removed key is no longer published');
      const refused = await tokenRequest(server, { grant_type: 'client_credentials', resource: API, scope: 'read' }, SVC);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error, 'temporarily_unavailable');
      assert.equal((await apiToken(server, 'https://es.example.com')).kid, es256.kid, 'the other APIs keep getting tokens');
      assert.ok(!server.logs.some((l) => l.event === 'server_error'));
    } finally {
      await server.stop();
    }
  });
});
