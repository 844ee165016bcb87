import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const SERVICE = { redirect_uris: [], response_types: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' };

/**
 * Everything discovery advertises beyond the core endpoints is either documented and tested
 * (DPoP, below) or switched off (client_secret_jwt and HMAC algorithms, pushed authorization
 * requests).
 */
describe('discovery advertises only what is documented and tested', () => {
  let gh: TestServer;
  let discovery: Record<string, unknown>;
  before(async () => {
    gh = await startTestServer();
    discovery = (await (await fetch(`${gh.publicUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  });
  after(() => gh.stop());

  it('no client_secret_jwt and no HMAC algorithm anywhere: client secrets are kept only as hashes', () => {
    assert.ok(!(discovery.token_endpoint_auth_methods_supported as string[]).includes('client_secret_jwt'));
    for (const [key, value] of Object.entries(discovery)) {
      if (key.endsWith('_alg_values_supported')) assert.ok(!(value as string[]).some((alg) => alg.startsWith('HS')), `${key}: ${String(value)}`);
    }
  });

  it('a client cannot register for client_secret_jwt or an HMAC-signed ID token', async () => {
    for (const extra of [{ token_endpoint_auth_method: 'client_secret_jwt' }, { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'HS256', jwks: { keys: [] } }, { id_token_signed_response_alg: 'HS256' }]) {
      const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...SERVICE, ...extra }) });
      assert.equal(res.status, 400, JSON.stringify(extra));
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_client_metadata', JSON.stringify(extra));
    }
  });

  it('no pushed authorization requests: not advertised, not served', async () => {
    assert.equal(discovery.pushed_authorization_request_endpoint, undefined);
    assert.equal((discovery.mtls_endpoint_aliases as Record<string, string>).pushed_authorization_request_endpoint, undefined);
    const res = await fetch(`${gh.publicUrl}/request`, { method: 'POST', body: new URLSearchParams({ client_id: 'x', response_type: 'code' }) });
    assert.equal(res.status, 404);
  });

  describe('DPoP (RFC 9449): advertised and working', () => {
    let clientId: string;
    let clientSecret: string;
    let keys: { privateKey: CryptoKey; publicKey: CryptoKey };
    let jwk: JWK;

    before(async () => {
      const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SERVICE) });
      ({ client_id: clientId, client_secret: clientSecret } = (await res.json()) as { client_id: string; client_secret: string });
      keys = await generateKeyPair('ES256');
      jwk = await exportJWK(keys.publicKey);
    });

    const proof = (htu: string, htm = 'POST') =>
      new SignJWT({ htm, htu, jti: randomUUID() }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }).setIssuedAt().sign(keys.privateKey);
    const tokenRequest = (dpop: string) =>
      fetch(`${gh.publicUrl}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, dpop },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });

    it('is advertised with asymmetric proof algorithms only', () => {
      assert.deepEqual(discovery.dpop_signing_alg_values_supported, ['ES256', 'Ed25519', 'EdDSA']);
    });

    it('a token request with a proof gets a DPoP-bound token whose cnf.jkt is the key thumbprint', async () => {
      const res = await tokenRequest(await proof(`${gh.config.issuer}/token`));
      const body = (await res.json()) as { access_token: string; token_type: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'DPoP');
      const introspection = await fetch(`${gh.publicUrl}/token/introspection`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
        body: new URLSearchParams({ token: body.access_token }),
      });
      const info = (await introspection.json()) as { active: boolean; cnf?: { jkt?: string }; token_type?: string };
      assert.equal(info.active, true);
      assert.equal(info.cnf?.jkt, await calculateJwkThumbprint(jwk));
    });

    it('a proof for another URL, another method, or not a JWT → 400 invalid_dpop_proof', async () => {
      for (const dpop of [await proof(`${gh.config.issuer}/elsewhere`), await proof(`${gh.config.issuer}/token`, 'GET'), 'not-a-jwt']) {
        const res = await tokenRequest(dpop);
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { error: string }).error, 'invalid_dpop_proof');
      }
    });
  });
});
