import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CookieClient } from '../../helpers/browserless.ts';
import { startTestServer } from '../../helpers/server.ts';
import { authorizeWithForms, introspect, pkce, startCodeServer, tokenRequest, WEB_SECRET, type CodeServer, type Pkce } from '../../helpers/code_flow.ts';

// The token endpoint's side of the code flow, with real codes obtained through our sign-in and
// consent forms: PKCE verifiers, single-use codes, refresh token rotation, redirect URI binding,
// revocation (RFC 7009) seen through introspection (RFC 7662).
let server: CodeServer;
const WEB = { id: 'webapp', secret: WEB_SECRET };
const NATIVE_REDIRECT = 'http://127.0.0.1:53682/callback';

before(async () => {
  server = await startCodeServer();
});
after(() => server?.stop());

interface Code {
  code: string;
  pkce: Pkce;
  redirectUri: string;
}

/** A fresh code for xxctl (or webapp), through a new browser session each time. */
async function getCode(clientId: 'xxctl' | 'webapp' = 'xxctl', extra: Record<string, string> = {}): Promise<Code> {
  const p = pkce();
  const redirectUri = clientId === 'xxctl' ? NATIVE_REDIRECT : server.webRedirect;
  const url = await authorizeWithForms(server, new CookieClient(server), {
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    state: 'st',
    ...extra,
  });
  assert.equal(url.searchParams.get('state'), 'st');
  assert.equal(url.searchParams.get('iss'), server.config.issuer);
  const code = url.searchParams.get('code');
  assert.ok(code, `no code in ${url.search}`);
  return { code, pkce: p, redirectUri };
}

function redeem(c: Code, overrides: Record<string, string | undefined> = {}, clientId: 'xxctl' | 'webapp' = 'xxctl') {
  const form: Record<string, string | undefined> = { grant_type: 'authorization_code', code: c.code, redirect_uri: c.redirectUri, code_verifier: c.pkce.verifier, ...overrides };
  if (clientId === 'xxctl') form.client_id = 'xxctl';
  const defined = Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return tokenRequest(server, defined, clientId === 'webapp' ? WEB : undefined);
}

function refresh(refreshToken: string) {
  return tokenRequest(server, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'xxctl' });
}

async function active(token: string): Promise<boolean> {
  return (await introspect(server, token)).active === true;
}

const OFFLINE = { scope: 'openid offline_access', prompt: 'consent' };

describe('PKCE at the token endpoint', () => {
  const cases: Array<[string, string | undefined, string]> = [
    ['a missing code_verifier', undefined, 'invalid_grant'],
    ['an incorrect code_verifier', randomBytes(32).toString('base64url'), 'invalid_grant'],
    ['a 42-character code_verifier', 'a'.repeat(42), 'invalid_request'],
    ['a 129-character code_verifier', 'a'.repeat(129), 'invalid_request'],
    ['a code_verifier with characters outside the RFC 7636 set', `${'a'.repeat(50)}+/=`, 'invalid_request'],
  ];
  for (const [name, verifier, error] of cases) {
    it(`${name} → ${error}`, async () => {
      const c = await getCode();
      const r = await redeem(c, { code_verifier: verifier });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error, error);
      assert.equal(r.body.access_token, undefined);
    });
  }

  it('the confidential client needs its verifier too', async () => {
    const c = await getCode('webapp');
    const r = await redeem(c, { code_verifier: undefined }, 'webapp');
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
    const ok = await redeem(c, {}, 'webapp');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it('the verifier of another code does not fit', async () => {
    const [a, b] = [await getCode(), await getCode()];
    const r = await redeem(a, { code_verifier: b.pkce.verifier });
    assert.equal(r.body.error, 'invalid_grant');
  });
});

describe('authorization codes', () => {
  it('a code used twice → invalid_grant, and the tokens of the first use are revoked', async () => {
    const c = await getCode('xxctl', OFFLINE);
    const first = await redeem(c);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const access = String(first.body.access_token);
    const refreshToken = String(first.body.refresh_token);
    assert.ok(first.body.refresh_token, 'offline_access with prompt=consent gives a refresh token');
    assert.equal(await active(access), true);
    assert.equal(await active(refreshToken), true);

    const second = await redeem(c);
    assert.equal(second.status, 400);
    assert.equal(second.body.error, 'invalid_grant');
    assert.equal(await active(access), false, 'access token from the first use is revoked');
    assert.equal(await active(refreshToken), false, 'refresh token from the first use is revoked');
    assert.equal((await refresh(refreshToken)).body.error, 'invalid_grant');
    const userinfo = await fetch(`${server.publicUrl}/me`, { headers: { authorization: `Bearer ${access}` } });
    assert.equal(userinfo.status, 401);
  });

  it('the same code redeemed five times at once: exactly one answer has tokens', async () => {
    const c = await getCode();
    const answers = await Promise.all(Array.from({ length: 5 }, () => redeem(c)));
    assert.equal(answers.filter((a) => a.status === 200).length, 1, JSON.stringify(answers.map((a) => a.body.error ?? 'ok')));
    for (const a of answers.filter((x) => x.status !== 200)) assert.equal(a.body.error, 'invalid_grant');
  });

  it('another client cannot redeem the code', async () => {
    const c = await getCode();
    const r = await redeem(c, {}, 'webapp');
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });

  it('the redirect_uri must be the one of the authorization request, port included, for native clients too', async () => {
    const c = await getCode();
    for (const redirect_uri of ['http://127.0.0.1:53683/callback', 'http://[::1]:53682/callback', 'http://127.0.0.1/callback', undefined]) {
      const r = await redeem(c, { redirect_uri });
      assert.equal(r.status, 400, `${redirect_uri}: ${JSON.stringify(r.body)}`);
      assert.match(String(r.body.error), /^invalid_(grant|request)$/);
    }
  });

  it('web client: a redirect_uri on another port is refused at both endpoints', async () => {
    const otherPort = server.webRedirect.replace(`:${server.webPort}/`, `:${server.webPort === 65535 ? 65534 : server.webPort + 1}/`);
    const url = new URL(`${server.publicUrl}/auth`);
    const p = pkce();
    url.search = new URLSearchParams({ client_id: 'webapp', redirect_uri: otherPort, response_type: 'code', scope: 'openid', code_challenge: p.challenge, code_challenge_method: 'S256' }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /invalid_redirect_uri/);

    const c = await getCode('webapp');
    const r = await redeem(c, { redirect_uri: otherPort }, 'webapp');
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });
});

describe('refresh tokens of the public client', () => {
  it('rotate on every use; reusing an old one → invalid_grant and the whole chain is revoked', async () => {
    const c = await getCode('xxctl', OFFLINE);
    const first = await redeem(c);
    const rt1 = String(first.body.refresh_token);
    const r2 = await refresh(rt1);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    const rt2 = String(r2.body.refresh_token);
    assert.notEqual(rt2, rt1);
    const r3 = await refresh(rt2);
    assert.equal(r3.status, 200);
    const rt3 = String(r3.body.refresh_token);
    const at3 = String(r3.body.access_token);
    assert.equal(await active(rt3), true);

    const reuse = await refresh(rt1);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    assert.equal(await active(rt3), false, 'the newest refresh token is revoked with the chain');
    assert.equal(await active(at3), false, 'so are the access tokens');
    assert.equal((await refresh(rt3)).body.error, 'invalid_grant');
  });

  it('one refresh token presented five times at once: exactly one answer has tokens', async () => {
    const first = await redeem(await getCode('xxctl', OFFLINE));
    const answers = await Promise.all(Array.from({ length: 5 }, () => refresh(String(first.body.refresh_token))));
    assert.equal(answers.filter((a) => a.status === 200).length, 1, JSON.stringify(answers.map((a) => a.body.error ?? 'ok')));
    for (const a of answers.filter((x) => x.status !== 200)) assert.equal(a.body.error, 'invalid_grant');
  });

  it('another client cannot use them', async () => {
    const first = await redeem(await getCode('xxctl', OFFLINE));
    const r = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: String(first.body.refresh_token) }, WEB);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });
});

describe('revocation (RFC 7009)', () => {
  async function revoke(token: string, hint?: string): Promise<number> {
    const body = new URLSearchParams({ token, client_id: 'xxctl', ...(hint ? { token_type_hint: hint } : {}) });
    const res = await fetch(`${server.publicUrl}/token/revocation`, { method: 'POST', body });
    return res.status;
  }

  it('a revoked access token is inactive, with everything from the same sign-in; other sign-ins keep theirs', async () => {
    const other = await redeem(await getCode('xxctl', OFFLINE));
    const t = await redeem(await getCode('xxctl', OFFLINE));
    const access = String(t.body.access_token);
    assert.equal(await active(access), true);
    assert.equal(await revoke(access, 'access_token'), 200);
    assert.equal(await active(access), false);
    // oidc-provider revokes the grant behind the token (RFC 7009 §2.1 allows it); each sign-in has
    // its own grant, so another login of the same person and client is untouched.
    assert.equal((await refresh(String(t.body.refresh_token))).body.error, 'invalid_grant');
    assert.equal(await active(String(other.body.access_token)), true);
    assert.equal((await refresh(String(other.body.refresh_token))).status, 200);
  });

  it('a revoked refresh token is inactive and cannot be used', async () => {
    const t = await redeem(await getCode('xxctl', OFFLINE));
    const rt = String(t.body.refresh_token);
    assert.equal(await revoke(rt), 200);
    assert.equal(await active(rt), false);
    assert.equal((await refresh(rt)).body.error, 'invalid_grant');
  });

  it('an unknown token answers 200 (RFC 7009 §2.2); a token of another client is not revoked', async () => {
    assert.equal(await revoke('not-a-token'), 200);
    const t = await redeem(await getCode('webapp'), {}, 'webapp');
    const access = String(t.body.access_token);
    // A public client presenting someone else's token is told nothing (200) and changes nothing.
    assert.equal(await revoke(access), 200);
    assert.equal(await active(access), true);
  });
});

describe('README', () => {
  it('the clients file example for this flow is accepted as it stands', async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
    const block = /Clients for this flow in `GATEHOUSE_CLIENTS_FILE`:\n\n```json\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, 'README has the example');
    const dir = mkdtempSync(join(tmpdir(), 'gh-readme-'));
    writeFileSync(join(dir, 'clients.json'), block);
    const gh = await startTestServer({ GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json') });
    try {
      const p = pkce();
      const url = new URL(`${gh.publicUrl}/auth`);
      url.search = new URLSearchParams({ client_id: 'xxctl', redirect_uri: 'http://[::1]:40123/callback', response_type: 'code', scope: 'openid', code_challenge: p.challenge, code_challenge_method: 'S256' }).toString();
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 303);
      assert.match(res.headers.get('location') ?? '', /^\/interaction\//);
    } finally {
      await gh.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
