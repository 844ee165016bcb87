import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

/**
 * Bad registration documents (RFC 7591 §3.2.2): each must get a 400 with the right error code and
 * a description naming the problem, never a 500. Rules from SECURITY.md "Registration" and
 * "Redirects and PKCE", plus the checks oidc-provider's schema already makes.
 */
const web = { redirect_uris: ['https://app.example.com/cb'], grant_types: ['authorization_code'], response_types: ['code'] };
const service = { redirect_uris: [], response_types: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' };
const jwk = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };

type Case = [name: string, doc: unknown, error: string, description: RegExp];

const CASES: Case[] = [
  // Redirect URIs → invalid_redirect_uri
  ['javascript: redirect URI', { ...web, redirect_uris: ['javascript:alert(document.cookie)'] }, 'invalid_redirect_uri', /javascript scheme/],
  ['data: redirect URI', { ...web, redirect_uris: ['data:text/html,<script>alert(1)</script>'] }, 'invalid_redirect_uri', /data scheme/],
  ['vbscript: redirect URI', { ...web, redirect_uris: ['vbscript:msgbox(1)'] }, 'invalid_redirect_uri', /vbscript scheme/],
  ['javascript: redirect URI on a native client', { ...web, application_type: 'native', redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri', /javascript scheme/],
  ['file: redirect URI', { ...web, redirect_uris: ['file:///etc/passwd'] }, 'invalid_redirect_uri', /file scheme/],
  ['web client with a non-loopback http redirect URI', { ...web, redirect_uris: ['http://app.example.com/cb'] }, 'invalid_redirect_uri', /http for loopback/],
  ['native client with a non-loopback http redirect URI', { ...web, application_type: 'native', redirect_uris: ['http://app.example.com/cb'] }, 'invalid_redirect_uri', /http for loopback/],
  ['web client with a custom-scheme redirect URI', { ...web, redirect_uris: ['com.example.app:/cb'] }, 'invalid_redirect_uri', /web client must be https/],
  ['redirect URI with a fragment', { ...web, redirect_uris: ['https://app.example.com/cb#frag'] }, 'invalid_redirect_uri', /fragments/],
  ['redirect URI with user information', { ...web, redirect_uris: ['https://user:pw@app.example.com/cb'] }, 'invalid_redirect_uri', /user information/],
  ['relative redirect URI', { ...web, redirect_uris: ['/cb'] }, 'invalid_redirect_uri', /absolute/],
  ['redirect_uris as a string', { ...web, redirect_uris: 'https://app.example.com/cb' }, 'invalid_redirect_uri', /array of strings/],
  ['redirect_uris holding a number', { ...web, redirect_uris: [42] }, 'invalid_redirect_uri', /array of strings/],
  ['21 redirect URIs', { ...web, redirect_uris: Array.from({ length: 21 }, (_, i) => `https://app.example.com/cb${i}`) }, 'invalid_redirect_uri', /more than 20/],
  ['a 2001-character redirect URI', { ...web, redirect_uris: [`https://app.example.com/${'a'.repeat(1980)}`] }, 'invalid_redirect_uri', /longer than 2000/],
  ['authorization_code without redirect URIs', { ...web, redirect_uris: [] }, 'invalid_redirect_uri', /redirect_uris must contain members/],
  // Grants, response types and authentication → invalid_client_metadata
  ['implicit grant', { ...web, grant_types: ['implicit'], response_types: ['token'] }, 'invalid_client_metadata', /implicit/],
  ['id_token response type', { ...web, response_types: ['id_token'] }, 'invalid_client_metadata', /implicit/],
  ['hybrid code token response type', { ...web, response_types: ['code token'] }, 'invalid_client_metadata', /implicit/],
  ['password grant', { ...service, grant_types: ['password'] }, 'invalid_client_metadata', /password grant/],
  ['none authentication with client_credentials', { ...service, token_endpoint_auth_method: 'none' }, 'invalid_client_metadata', /client_credentials grant requires client authentication/],
  ['unknown token_endpoint_auth_method', { ...service, token_endpoint_auth_method: 'magic' }, 'invalid_client_metadata', /token_endpoint_auth_method must be one of/],
  ['client_secret_jwt authentication', { ...service, token_endpoint_auth_method: 'client_secret_jwt' }, 'invalid_client_metadata', /token_endpoint_auth_method must be one of/],
  ['response_types code without the authorization_code grant', { ...service, response_types: ['code'] }, 'invalid_client_metadata', /requires the authorization_code grant/],
  ['authorization_code grant without response types', { ...web, response_types: [] }, 'invalid_client_metadata', /requires response_types/],
  ['refresh_token grant on its own', { ...service, grant_types: ['refresh_token'] }, 'invalid_client_metadata', /refresh_token grant requires/],
  ['unsupported grant type', { ...service, grant_types: ['urn:example:grant'] }, 'invalid_client_metadata', /grant_types/],
  ['grant_types as a string', { ...service, grant_types: 'client_credentials' }, 'invalid_client_metadata', /grant_types must be an array/],
  ['tls_client_auth without a subject field', { ...service, token_endpoint_auth_method: 'tls_client_auth' }, 'invalid_client_metadata', /tls_client_auth/],
  ['tls_client_auth with two subject fields', { ...service, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_email: 'a@example.com', tls_client_auth_san_dns: 'svc.example.com' }, 'invalid_client_metadata', /tls_client_auth/],
  ['self_signed_tls_client_auth without keys', { ...service, token_endpoint_auth_method: 'self_signed_tls_client_auth' }, 'invalid_client_metadata', /jwks/],
  ['private_key_jwt without keys', { ...service, token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata', /requires jwks/],
  ['jwks and jwks_uri together', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, jwks_uri: 'https://keys.example.com/jwks' }, 'invalid_client_metadata', /jwks and jwks_uri/],
  ['jwks that is not a JWK Set', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks: { kty: 'EC' } }, 'invalid_client_metadata', /keys array/],
  ['jwks with 11 keys', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: Array.from({ length: 11 }, (_, i) => ({ ...jwk, kid: `k${i}` })) } }, 'invalid_client_metadata', /more than 10 keys/],
  // URIs the server fetches: https, never loopback, link-local or private
  ['http jwks_uri', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://keys.example.com/jwks' }, 'invalid_client_metadata', /jwks_uri must be an https URI/],
  ['jwks_uri on loopback', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://127.0.0.1/jwks' }, 'invalid_client_metadata', /loopback, link-local or private/],
  ['jwks_uri on localhost', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://localhost:8443/jwks' }, 'invalid_client_metadata', /loopback, link-local or private/],
  ['jwks_uri on IPv6 loopback', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://[::1]/jwks' }, 'invalid_client_metadata', /loopback, link-local or private/],
  ['jwks_uri on the cloud metadata address', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://169.254.169.254/latest/meta-data' }, 'invalid_client_metadata', /loopback, link-local or private/],
  ['jwks_uri on a private network', { ...service, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks_uri: 'https://10.1.2.3/jwks' }, 'invalid_client_metadata', /loopback, link-local or private|self_signed_tls_client_auth/],
  ['jwks_uri on an IPv4-mapped private address', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://[::ffff:192.168.0.1]/jwks' }, 'invalid_client_metadata', /loopback, link-local or private/],
  ['sector_identifier_uri on a private network', { ...web, sector_identifier_uri: 'https://192.168.1.10/sector' }, 'invalid_client_metadata', /loopback, link-local or private/],
  // Informational URIs: https only
  ['http logo_uri', { ...service, logo_uri: 'http://cdn.example.com/logo.png' }, 'invalid_client_metadata', /logo_uri must be an https URI/],
  ['javascript: policy_uri', { ...service, policy_uri: 'javascript:alert(1)' }, 'invalid_client_metadata', /policy_uri must be an https URI/],
  ['http tos_uri', { ...service, tos_uri: 'http://example.com/tos' }, 'invalid_client_metadata', /tos_uri must be an https URI/],
  ['ftp client_uri', { ...service, client_uri: 'ftp://example.com/' }, 'invalid_client_metadata', /client_uri must be an https URI/],
  ['http initiate_login_uri', { ...web, initiate_login_uri: 'http://app.example.com/login' }, 'invalid_client_metadata', /initiate_login_uri must be an https URI/],
  // Names, lengths, types
  ['201-character client_name', { ...service, client_name: 'n'.repeat(201) }, 'invalid_client_metadata', /client_name must not be longer than 200/],
  ['client_name with a control character', { ...service, client_name: 'Billing\u001b[31m' }, 'invalid_client_metadata', /control characters/],
  ['client_name with a newline', { ...service, client_name: 'Billing\nApproved by admin' }, 'invalid_client_metadata', /control characters/],
  ['client_name as a number', { ...service, client_name: 42 }, 'invalid_client_metadata', /client_name must be a string/],
  ['contacts that are not email addresses', { ...service, contacts: ['not an email'] }, 'invalid_client_metadata', /contacts/],
  ['11 contacts', { ...service, contacts: Array.from({ length: 11 }, (_, i) => `ops${i}@example.com`) }, 'invalid_client_metadata', /more than 10/],
  ['1001-character scope', { ...service, scope: 'openid '.repeat(143) }, 'invalid_client_metadata', /scope must not be longer than 1000/],
  ['201-character software_id', { ...service, software_id: 's'.repeat(201) }, 'invalid_client_metadata', /software_id must not be longer than 200/],
  ['unknown application_type', { ...web, application_type: 'desktop' }, 'invalid_client_metadata', /application_type/],
  ['negative default_max_age', { ...service, default_max_age: -1 }, 'invalid_client_metadata', /default_max_age/],
  ['document over 32 KiB', { ...service, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: Array.from({ length: 9 }, (_, i) => ({ kty: 'RSA', kid: `k${i}`, e: 'AQAB', n: 'x'.repeat(4000) })) } }, 'invalid_client_metadata', /larger than 32768 bytes/],
];

/** Bodies that are not a JSON object at all → invalid_request. */
const RAW: Array<[name: string, body: string]> = [
  ['a JSON array', '[]'],
  ['a JSON string', '"register me"'],
  ['malformed JSON', '{"redirect_uris": ['],
  ['JSON null', 'null'],
];

describe('registration metadata validation corpus', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer({ GATEHOUSE_REGISTRATION_RATE_LIMIT: '1000' });
  });
  after(() => gh.stop());

  it(`has at least 30 bad documents (${CASES.length + RAW.length})`, () => {
    assert.ok(CASES.length + RAW.length >= 30);
  });

  for (const [name, doc, error, description] of CASES) {
    it(`${name} → 400 ${error}`, async () => {
      const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
      const body = (await res.json()) as Record<string, string>;
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.error, error, JSON.stringify(body));
      assert.match(body.error_description ?? '', description);
    });
  }

  for (const [name, raw] of RAW) {
    it(`${name} → 400 invalid_request`, async () => {
      const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as Record<string, string>).error, 'invalid_request');
    });
  }

  it('none of them was a server error, and nothing was registered', async () => {
    assert.ok(!gh.logs.some((l) => l.event === 'server_error' || l.level === 50), gh.logText());
    assert.deepEqual(await gh.store.list('Client'), []);
  });

  it('the corpus documents are refused on update too', async () => {
    const service = { redirect_uris: [], response_types: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' };
    const created = (await (await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(service) })).json()) as Record<string, string>;
    const uri = created.registration_client_uri!.replace(gh.config.issuer, gh.publicUrl);
    for (const [name, doc, error] of CASES) {
      const res = await fetch(uri, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${created.registration_access_token}` }, body: JSON.stringify({ ...(doc as object), client_id: created.client_id }) });
      assert.equal(res.status, 400, name);
      assert.equal(((await res.json()) as Record<string, string>).error, error, name);
    }
  });
});
