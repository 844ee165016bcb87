import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CookieClient, hidden } from '../../helpers/browserless.ts';
import { requestDeviceCode, startDeviceServer } from '../../helpers/device.ts';
import { startTestServer } from '../../helpers/server.ts';

/**
 * oidc-provider's router folds ASCII case and ignores one trailing slash: `POST /TOKEN`, `/Reg`
 * and `/device/` reach the same endpoints as their usual spelling. Every guard we put in front of
 * an endpoint, and every edit we make to a discovery document, must see those spellings as that
 * endpoint.
 */
const SPELLINGS = (path: string) => [path.toUpperCase(), `${path}/`, path.replace(/^\/(.)/, (_, c: string) => `/${c.toUpperCase()}`)];

/** Both discovery documents (OpenID Connect Discovery 1.0 §4, RFC 8414 §3), each with other spellings oidc-provider serves it under. */
const DISCOVERY_SPELLINGS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'].map((path) => ({
  path,
  spellings: [`${path}/`, path.toUpperCase(), `${path.toUpperCase()}/`, path.replace(/-(.)/g, (_, c: string) => `-${c.toUpperCase()}`).replace('well-known', 'Well-Known')],
}));

async function document(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return (await res.json()) as Record<string, unknown>;
}

const SERVICE = { redirect_uris: [], response_types: [], grant_types: ['client_credentials'] };

describe('guards in front of oidc-provider see every spelling of an endpoint path', () => {
  it('GATEHOUSE_REGISTRATION=token and closed refuse POST /REG, /reg/ and /Reg without a token', async () => {
    for (const policy of ['token', 'closed']) {
      const gh = await startTestServer({ GATEHOUSE_REGISTRATION: policy });
      try {
        for (const path of SPELLINGS('/reg')) {
          const res = await fetch(`${gh.publicUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SERVICE) });
          // closed: oidc-provider serves no registration endpoint at all behind the guard's 403.
          const refused = policy === 'token' ? [401] : [403, 404];
          assert.ok(refused.includes(res.status), `${policy} ${path}: ${res.status} ${await res.text()}`);
        }
      } finally {
        await gh.stop();
      }
    }
  });

  it('another method on a POST-only endpoint, in any spelling, is 405 with Allow: POST; an unknown path stays 404', async () => {
    const gh = await startTestServer();
    try {
      for (const path of ['/token', ...SPELLINGS('/token'), '/token/introspection', '/token/revocation', '/device/auth', '/reg']) {
        // GET /device/auth shows the user-code page (the device feature's), not an error.
        for (const method of path === '/device/auth' ? ['PUT', 'DELETE'] : ['GET', 'HEAD', 'PUT', 'DELETE']) {
          const res = await fetch(`${gh.publicUrl}${path}`, { method });
          assert.equal(res.status, 405, `${method} ${path}`);
          // oidc-provider answers CORS preflights (OPTIONS) on all of them but registration.
          assert.equal(res.headers.get('allow'), path === '/reg' ? 'POST' : 'POST, OPTIONS', `${method} ${path}`);
          if (method !== 'HEAD') assert.equal(((await res.json()) as { error: string }).error, 'invalid_request', `${method} ${path}`);
        }
      }
      const unknown = await fetch(`${gh.publicUrl}/tokens`);
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { error: string }).error, 'not_found');
    } finally {
      await gh.stop();
    }
  });

  it('the token endpoint rate limit counts /TOKEN and /token/ too', async () => {
    const gh = await startTestServer({ GATEHOUSE_TOKEN_RATE_LIMIT_IP: '3', GATEHOUSE_RATE_LIMIT_WINDOW: '1h' });
    try {
      const statuses: number[] = [];
      for (const path of ['/token', ...SPELLINGS('/token')]) {
        const res = await fetch(`${gh.publicUrl}${path}`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' }) });
        statuses.push(res.status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429]);
    } finally {
      await gh.stop();
    }
  });

  it('wrong user codes at POST /DEVICE and /device/ count towards the lockout, and a locked-out IP gets 429 there', async () => {
    const gh = await startDeviceServer({ GATEHOUSE_USER_CODE_FAILURES_PER_IP: '2', GATEHOUSE_USER_CODE_FAILURES_GLOBAL: '1000' });
    try {
      const auth = await requestDeviceCode(gh);
      const browser = new CookieClient(gh);
      const statuses: number[] = [];
      for (const [path, code] of [['/DEVICE', 'BCDF-GHJK'], ['/device/', 'BCDF-GHJL'], ['/Device', auth.user_code]] as const) {
        const entry = await browser.request('/device');
        const res = await browser.request(path, { form: { xsrf: hidden(entry.text, 'xsrf'), user_code: code } });
        statuses.push(res.res.status);
      }
      assert.deepEqual(statuses, [200, 429, 429], 'the second wrong code reaches the limit; then even the right one is throttled');
    } finally {
      await gh.stop();
    }
  });

  it('without a certificate listener, both discovery documents leave out certificate-bound tokens in every spelling', async () => {
    const gh = await startTestServer({ GATEHOUSE_MTLS_ENABLED: 'false' });
    try {
      for (const { path, spellings } of DISCOVERY_SPELLINGS) {
        const canonical = await document(`${gh.publicUrl}${path}`);
        assert.equal(canonical.tls_client_certificate_bound_access_tokens, undefined, path);
        for (const spelling of spellings) {
          const doc = await document(`${gh.publicUrl}${spelling}`);
          assert.equal(doc.tls_client_certificate_bound_access_tokens, undefined, spelling);
          assert.deepEqual(doc, canonical, spelling);
        }
      }
    } finally {
      await gh.stop();
    }
  });

  it('with the mTLS listener on, both discovery documents list mtls_endpoint_aliases in every spelling (RFC 8705 §5)', async () => {
    const gh = await startTestServer();
    try {
      assert.ok(gh.mtlsUrl, 'the mTLS listener is on');
      for (const { path, spellings } of DISCOVERY_SPELLINGS) {
        const canonical = await document(`${gh.publicUrl}${path}`);
        const aliases = canonical.mtls_endpoint_aliases as Record<string, string> | undefined;
        assert.equal(aliases?.token_endpoint, `${gh.config.mtlsOrigin}/token`, path);
        for (const spelling of spellings) {
          const doc = await document(`${gh.publicUrl}${spelling}`);
          assert.deepEqual(doc.mtls_endpoint_aliases, aliases, spelling);
          assert.deepEqual(doc, canonical, spelling);
        }
      }
    } finally {
      await gh.stop();
    }
  });
});
