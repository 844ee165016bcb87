import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { devPki } from '../../helpers/pki.ts';
import { clientsFile, tlsClient } from '../../helpers/mtls_curl.ts';
import { ConfigError } from '../../../src/shared/errors.ts';

// With neither the mTLS listener nor a proxy forwarding certificates, no certificate can ever
// reach Gatehouse: the certificate methods are not offered, and not accepted at registration.
const CERTIFICATE_METHODS = ['tls_client_auth', 'self_signed_tls_client_auth'];

async function discovery(gh: TestServer): Promise<Record<string, unknown>> {
  return (await (await fetch(`${gh.publicUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
}

async function register(gh: TestServer, metadata: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(metadata) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const tlsClientMetadata = { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'svc.internal.example', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] };

describe('client certificate methods when no certificate can arrive; stored clients the current rules refuse', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-no-certs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('GATEHOUSE_MTLS_ENABLED=false without GATEHOUSE_CLIENT_CERT_HEADER: discovery lists no certificate method and no bound tokens; registering one is invalid_client_metadata', async () => {
    const gh = await startTestServer({ GATEHOUSE_MTLS_ENABLED: 'false', GATEHOUSE_REGISTRATION: 'open' });
    try {
      const doc = await discovery(gh);
      const methods = doc.token_endpoint_auth_methods_supported as string[];
      assert.ok(methods.includes('client_secret_basic') && methods.includes('private_key_jwt'), String(methods));
      for (const m of CERTIFICATE_METHODS) assert.ok(!methods.includes(m), `${m} advertised: ${methods}`);
      assert.equal(doc.tls_client_certificate_bound_access_tokens, undefined);
      assert.equal(doc.mtls_endpoint_aliases, undefined);

      for (const method of CERTIFICATE_METHODS) {
        const metadata = method === 'tls_client_auth' ? tlsClientMetadata : { ...tlsClientMetadata, token_endpoint_auth_method: method, tls_client_auth_san_dns: undefined, jwks: { keys: [] } };
        const res = await register(gh, metadata);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error, 'invalid_client_metadata');
        assert.match(String(res.body.error_description), new RegExp(`token_endpoint_auth_method ${method} needs a client certificate.*GATEHOUSE_MTLS_ENABLED=false.*GATEHOUSE_CLIENT_CERT_HEADER`));
      }
      // Certificate-bound tokens need the certificate too: refused, never silently issued as bearer tokens.
      const bound = await register(gh, { token_endpoint_auth_method: 'client_secret_basic', tls_client_certificate_bound_access_tokens: true, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
      assert.equal(bound.status, 400, JSON.stringify(bound.body));
      assert.equal(bound.body.error, 'invalid_client_metadata');
      assert.match(String(bound.body.error_description), /^tls_client_certificate_bound_access_tokens needs a client certificate/);
      const oauthMetadata = (await (await fetch(`${gh.publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
      assert.equal(oauthMetadata.tls_client_certificate_bound_access_tokens, undefined);
      // The methods that need no certificate still register and get tokens.
      const ok = await register(gh, { token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      const token = await fetch(`${gh.publicUrl}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${ok.body.client_id}:${ok.body.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      assert.equal(token.status, 200, await token.clone().text());
    } finally {
      await gh.stop();
    }
  });

  it('a tls_client_auth client registered while the mTLS listener ran is refused as invalid_client (not invalid_client_metadata, not a 500) after a restart without it', async () => {
    const dataDir = join(dir, 'data');
    const first = await startTestServer({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_REGISTRATION: 'open' });
    let clientId: string;
    try {
      const res = await register(first, tlsClientMetadata);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      clientId = String(res.body.client_id);
    } finally {
      await first.stop();
    }
    const second = await startTestServer({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_MTLS_ENABLED: 'false' });
    try {
      const res = await fetch(`${second.publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&client_id=${encodeURIComponent(clientId)}` });
      const body = (await res.json()) as Record<string, unknown>;
      // RFC 6749 §5.2: invalid_client, 400 as the client sent no Authorization header.
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.error, 'invalid_client');
      // Anyone may send a client_id: the reason, which names settings, is in the log, not the answer.
      assert.equal(body.error_description, 'this client cannot be used on this server as registered; an operator can see why in the log');
      assert.ok(!JSON.stringify(body).includes('GATEHOUSE_'), JSON.stringify(body));
      const logged = second.logs.find((l) => l.event === 'grant.error' && typeof l.error_detail === 'string');
      assert.match(String(logged?.error_detail), /^the client's stored metadata is not accepted by this server: token_endpoint_auth_method tls_client_auth needs a client certificate/);
      assert.ok(!second.logText().includes('"level":50'), 'an error was logged');
    } finally {
      await second.stop();
    }
  });

  it('any stored client today\'s rules refuse answers invalid_client the same way: a private jwks_uri after GATEHOUSE_REGISTRATION_ALLOW_PRIVATE_URIS went off', async () => {
    const dataDir = join(dir, 'data-private');
    const first = await startTestServer({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_REGISTRATION_ALLOW_PRIVATE_URIS: 'true' });
    let clientId: string;
    try {
      const res = await register(first, { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://10.0.0.1/jwks.json', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      clientId = String(res.body.client_id);
    } finally {
      await first.stop();
    }
    const second = await startTestServer({ GATEHOUSE_DATA_DIR: dataDir });
    try {
      // oidc-provider takes the client id from the assertion's sub before it looks the client up; the signature is never reached.
      const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const jwt = `${part({ alg: 'ES256' })}.${part({ iss: clientId, sub: clientId, aud: second.config.issuer, exp: Math.floor(Date.now() / 1000) + 60, jti: 'x' })}.c2ln`;
      const assertion = `client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${jwt}`;
      const res = await fetch(`${second.publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&client_id=${encodeURIComponent(clientId)}&${assertion}` });
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.error, 'invalid_client');
      assert.equal(body.error_description, 'this client cannot be used on this server as registered; an operator can see why in the log');
      assert.match(String(second.logs.find((l) => l.event === 'grant.error' && typeof l.error_detail === 'string')?.error_detail), /^the client's stored metadata is not accepted by this server: jwks_uri/);
    } finally {
      await second.stop();
    }
  });

  it('a tls_client_auth client in GATEHOUSE_CLIENTS_FILE without any way for a certificate to arrive stops the start with a configuration error naming it', async () => {
    const file = clientsFile([tlsClient('billing', { tls_client_auth_san_dns: 'billing.internal.example' })]);
    try {
      await assert.rejects(startTestServer({ GATEHOUSE_MTLS_ENABLED: 'false', GATEHOUSE_CLIENTS_FILE: file }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, /GATEHOUSE_CLIENTS_FILE: client billing: invalid_client_metadata: token_endpoint_auth_method tls_client_auth needs a client certificate.*GATEHOUSE_MTLS_ENABLED=false/);
        return true;
      });
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });

  it('GATEHOUSE_MTLS_ENABLED=false with GATEHOUSE_CLIENT_CERT_HEADER (a proxy forwards certificates): the certificate methods are offered', async () => {
    const certsDir = join(dir, 'proxy-certs');
    const pki = await devPki(certsDir);
    const gh = await startTestServer({ GATEHOUSE_MTLS_ENABLED: 'false', GATEHOUSE_CLIENT_CERT_HEADER: 'ssl-client-cert', GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32', GATEHOUSE_MTLS_CA_FILE: pki.rootCa, GATEHOUSE_REGISTRATION: 'open' });
    try {
      const doc = await discovery(gh);
      for (const m of CERTIFICATE_METHODS) assert.ok((doc.token_endpoint_auth_methods_supported as string[]).includes(m), m);
      assert.equal(doc.tls_client_certificate_bound_access_tokens, true);
      const res = await register(gh, tlsClientMetadata);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    } finally {
      await gh.stop();
    }
  });
});
