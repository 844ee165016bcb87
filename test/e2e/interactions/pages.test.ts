import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CookieClient, hidden } from '../../helpers/browserless.ts';
import { ALICE, type DeviceServer, requestDeviceCode, startDeviceServer } from '../../helpers/device.ts';

/** Drives a device code up to the sign-in page and returns the interaction path. */
async function toSignIn(server: DeviceServer, client: CookieClient): Promise<string> {
  const auth = await requestDeviceCode(server);
  const entry = await client.request('/device');
  const confirm = await client.request('/device', { form: { xsrf: hidden(entry.text, 'xsrf'), user_code: auth.user_code } });
  assert.match(confirm.text, /Confirm this device/);
  const go = await client.request('/device', { form: { xsrf: hidden(confirm.text, 'xsrf'), user_code: auth.user_code, confirm: 'yes' } });
  assert.equal(go.res.status, 303);
  const location = new URL(go.res.headers.get('location')!, server.publicUrl);
  assert.match(location.pathname, /^\/interaction\/[\w-]+$/);
  return location.pathname;
}

describe('pages: headers, CSRF, branding, sign-in throttling', () => {
  let server: DeviceServer;

  before(async () => {
    server = await startDeviceServer({
      GATEHOUSE_PRODUCT_NAME: 'Acme <SSO>',
      GATEHOUSE_LOGO_URL: 'https://cdn.example.com/acme.svg',
      GATEHOUSE_ACCENT_COLOUR: '#aa3300',
      GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT: '3',
    });
    await server.accounts.create(ALICE);
  });
  after(() => server?.stop());

  it('every page: strict CSP, no inline script or style, labelled inputs, branding from configuration', async () => {
    const client = new CookieClient(server);
    const entry = await client.request('/device');
    assert.equal(entry.res.status, 200);
    const csp = entry.res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(!csp.includes('unsafe-inline'));
    const signIn = await client.request(await toSignIn(server, client));
    for (const html of [entry.text, signIn.text]) {
      assert.ok(!/<script/i.test(html), 'no script');
      assert.ok(!/<style|\sstyle=|\son[a-z]+=/i.test(html), 'no inline style or handlers');
      assert.match(html, /Acme &lt;SSO&gt;/);
      assert.match(html, /<img src="https:\/\/cdn.example.com\/acme.svg"/);
      for (const [, id] of html.matchAll(/<input type="(?:text|password)" id="([^"]+)"/g)) assert.match(html, new RegExp(`<label for="${id}">`));
    }
    const css = await client.request('/branding.css');
    assert.match(css.res.headers.get('content-type') ?? '', /text\/css/);
    assert.equal(css.text.trim(), ':root { --accent: #aa3300; }');
  });

  it('a wrong request to a sign-in form (GET, a JSON body, an oversized form) gets the error page; a client asking for JSON gets JSON', async () => {
    const client = new CookieClient(server);
    const login = `${server.publicUrl}${await toSignIn(server, client)}/login`;
    const cases: Array<[string, RequestInit, number]> = [
      ['GET', { method: 'GET' }, 405],
      ['a JSON body', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' }, 415],
      ['a 50 KB password', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `username=alice&password=${'p'.repeat(50_000)}` }, 413],
    ];
    for (const [label, init, status] of cases) {
      const page = await fetch(login, { ...init, headers: { ...(init.headers as Record<string, string>), accept: '*/*' } });
      assert.equal(page.status, status, label);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/, label);
      assert.match(await page.text(), /Something went wrong[\s\S]*invalid_request/, label);
      const json = await fetch(login, { ...init, headers: { ...(init.headers as Record<string, string>), accept: 'application/json' } });
      assert.equal(json.status, status, label);
      assert.equal(((await json.json()) as { error: string }).error, 'invalid_request', label);
    }
  });

  it('forms without the CSRF token, or posted without the browser cookies (cross-site), are refused', async () => {
    const client = new CookieClient(server);
    // No session cookie at all (a cross-site form): back to a fresh form.
    const noSession = await client.request('/device', { form: { user_code: 'BCDF-GHJK' } });
    assert.equal(noSession.res.status, 303);
    assert.equal(noSession.res.headers.get('location'), '/device');
    // A session but no token: refused, with a fresh form.
    await client.request('/device');
    const noToken = await client.request('/device', { form: { user_code: 'BCDF-GHJK' } });
    assert.equal(noToken.res.status, 400);
    assert.match(noToken.text, /form has expired/);

    const path = await toSignIn(server, client);
    const page = await client.request(path);
    const csrf = hidden(page.text, 'csrf');
    const forged = await client.request(`${path}/login`, { form: { csrf: 'forged', username: 'alice', password: ALICE.password } });
    assert.equal(forged.res.status, 403);
    const crossSite = await new CookieClient(server).request(`${path}/login`, { form: { csrf, username: 'alice', password: ALICE.password } });
    assert.equal(crossSite.res.status, 400);
    assert.match(crossSite.text, /expired/);
    const ok = await client.request(`${path}/login`, { form: { csrf, username: 'alice', password: ALICE.password } });
    assert.equal(ok.res.status, 303);
  });

  it('wrong passwords: same message for unknown users, then 429 with Retry-After; nothing secret is logged', async () => {
    const client = new CookieClient(server);
    const path = await toSignIn(server, client);
    const csrf = hidden((await client.request(path)).text, 'csrf');
    const wrong = await client.request(`${path}/login`, { form: { csrf, username: 'alice', password: 'not-her-password' } });
    const unknown = await client.request(`${path}/login`, { form: { csrf, username: 'mallory', password: 'not-her-password' } });
    assert.equal(wrong.res.status, 401);
    assert.equal(unknown.res.status, 401);
    const message = (html: string) => /<p class="error" role="alert"[^>]*>([^<]*)</.exec(html)?.[1];
    assert.equal(message(wrong.text), 'Incorrect username or password.');
    assert.equal(message(unknown.text), message(wrong.text));
    assert.equal((await client.request(`${path}/login`, { form: { csrf, username: 'alice', password: 'still-wrong' } })).res.status, 401);
    // The third failure for alice reaches the limit: 429 now, and for the right password too.
    const third = await client.request(`${path}/login`, { form: { csrf, username: 'alice', password: 'wrong-again' } });
    assert.equal(third.res.status, 429);
    assert.match(third.text, /Too many attempts/);
    const locked = await client.request(`${path}/login`, { form: { csrf, username: 'alice', password: ALICE.password } });
    assert.equal(locked.res.status, 429);
    assert.ok(Number(locked.res.headers.get('retry-after')) > 0);
    const failures = server.logs.filter((l) => l.audit === true && l.event === 'signin.failure');
    assert.deepEqual(failures.map((l) => l.reason), ['bad_credentials', 'bad_credentials', 'bad_credentials', 'throttled', 'throttled']);
    assert.ok(failures.every((l) => l.username === undefined && l.ip === '127.0.0.1'));
    const logs = server.logText();
    for (const secret of [ALICE.password, 'not-her-password', 'still-wrong', csrf]) assert.ok(!logs.includes(secret), 'secret in logs');
  });

  it('a bad accent colour or logo URL is a configuration error naming the variable', async () => {
    await assert.rejects(startDeviceServer({ GATEHOUSE_ACCENT_COLOUR: 'red;}' }), /GATEHOUSE_ACCENT_COLOUR: must be a colour/);
    await assert.rejects(startDeviceServer({ GATEHOUSE_LOGO_URL: 'javascript:alert(1)' }), /GATEHOUSE_LOGO_URL/);
  });
});
