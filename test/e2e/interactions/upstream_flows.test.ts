import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { runCli } from '../../helpers/cli.ts';
import { jwtClaims, requestDeviceCode, screenshot } from '../../helpers/device.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { CORP_SECRET, openCodeFlow, pollUntilDone, type SsoWorld, startSsoWorld } from '../../helpers/sso.ts';
import { type Upstream, upstreamSignIn } from '../../helpers/upstream.ts';

describe('sign-in through an upstream OpenID Connect provider', () => {
  let w: SsoWorld;
  let upstream: Upstream;
  let gh: TestServer;
  let browser: Browser;
  let dir: string;
  let soloPort: number;
  const deviceViaUpstream = (login: string, label?: string, shots?: string) => w.deviceViaUpstream(login, label, shots);

  before(async () => {
    w = await startSsoWorld();
    ({ upstream, gh, browser, dir, soloPort } = w);
  });
  after(() => w?.stop());

  test('device flow: code entry, confirm, Continue with Corp SSO, upstream sign-in, done; tokens carry the upstream email and groups; second sign-in keeps the sub and picks up new groups', async () => {
    const { auth, context, page } = await deviceViaUpstream('alice', 'Corp SSO', 'upstream-device');
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await screenshot(page, 'upstream-device', '02-done');
    const r = await pollUntilDone(gh, auth);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const claims = jwtClaims(String(r.body.id_token));
    assert.equal(claims.iss, gh.config.issuer);
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.email_verified, true);
    assert.deepEqual(claims.groups, ['engineering', 'oncall']);
    assert.equal(claims.preferred_username, 'alice');
    assert.equal(claims.name, 'Alice Upstream');
    assert.equal(claims.uid_number, 2001);
    assert.equal(claims.gid_number, 200);
    assert.deepEqual(claims.amr, ['fed']);
    assert.equal(claims.acr, 'urn:gatehouse:upstream');
    assert.notEqual(claims.sub, 'alice', 'the sub is Gatehouse\'s own, not the upstream\'s');
    await context.close();
    assert.ok(gh.logs.some((l) => l.audit === true && l.event === 'signin.success' && l.connector === 'corp' && l.sub === claims.sub && l.created === true));

    // The upstream changes the groups; the next sign-in (a new browser) reuses the account.
    upstream.users.set('alice', { ...upstream.users.get('alice'), groups: ['oncall', 'sre'] });
    const second = await deviceViaUpstream('alice');
    await second.page.getByRole('heading', { name: 'Device connected' }).waitFor();
    const r2 = await pollUntilDone(gh, second.auth);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    const claims2 = jwtClaims(String(r2.body.id_token));
    assert.equal(claims2.sub, claims.sub);
    assert.deepEqual(claims2.groups, ['oncall', 'sre']);
    await second.context.close();

    // The operator sees the account with its connector, and can disable it.
    const env = { GATEHOUSE_DATA_DIR: join(gh.dir, 'data') };
    const list = await runCli(['users', 'list'], { env, cwd: gh.dir });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /corp:alice\s+connector:corp\s+Alice Upstream\s+alice@example\.com\s+oncall,sre/);
    const json = JSON.parse((await runCli(['users', 'list', '--json'], { env, cwd: gh.dir })).stdout) as Array<Record<string, unknown>>;
    const row = json.find((a) => a.id === claims.sub);
    assert.deepEqual(row?.upstream, { connector: 'corp', issuer: upstream.issuer, subject: 'alice', username: 'alice' });
    const disabled = await runCli(['users', 'disable', 'corp:alice'], { env, cwd: gh.dir });
    assert.equal(disabled.status, 0, disabled.stderr);
    const third = await deviceViaUpstream('alice');
    await third.page.getByRole('heading', { name: 'Access refused' }).waitFor();
    assert.match((await third.page.locator('main').textContent()) ?? '', /disabled/);
    await third.context.close();
    // The refresh token of a disabled account stops working too.
    const refresh = await fetch(`${gh.publicUrl}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(r2.body.refresh_token), client_id: 'xxctl' }) });
    assert.equal(((await refresh.json()) as { error?: string }).error, 'invalid_grant');
    await runCli(['users', 'enable', 'corp:alice'], { env, cwd: gh.dir });
    // No password sign-in for an upstream account, whatever is typed.
    assert.equal((await runCli(['users', 'passwd', 'corp:alice', '--password-stdin'], { env, cwd: gh.dir, input: 'some long password\nsome long password\n' })).status !== 0, true);
  });

  test('authorization code + PKCE through a private_key_jwt connector; openid-client at both ends', async () => {
    upstream.users.set('bob', { email: 'bob@example.com', email_verified: true, name: 'Bob', preferred_username: 'bob', groups: ['design'] });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const { config, context, page, callback } = await openCodeFlow(browser, gh.config.issuer, {
      scope: 'openid email groups profile',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('button', { name: 'Continue with Partner SSO' }).click();
    await upstreamSignIn(page, 'bob');
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('back at the application').waitFor();
    const back = callback();
    assert.ok(back);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims();
    assert.equal(claims?.email, 'bob@example.com');
    assert.deepEqual(claims?.groups, ['design']);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims?.sub));
    assert.equal(info.email, 'bob@example.com');
    await context.close();
  });

  test('local accounts off and a single connector: sign-in goes straight to the upstream; the password form is refused', async () => {
    writeFileSync(join(dir, 'solo.json'), JSON.stringify([{ id: 'corp', label: 'Corp SSO', issuer: upstream.issuer, clientId: 'gatehouse', clientSecret: { env: 'CORP_SECRET' }, scopes: ['openid', 'email', 'groups'] }]));
    const solo = await startTestServer({
      GATEHOUSE_PORT: String(soloPort),
      GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'),
      GATEHOUSE_CONNECTORS_FILE: join(dir, 'solo.json'),
      GATEHOUSE_LOCAL_ACCOUNTS: 'false',
      GATEHOUSE_DEVICE_POLL_INTERVAL: '1s',
      CORP_SECRET,
    });
    const context = await browser.newContext();
    try {
      const auth = await requestDeviceCode(solo);
      const page = await context.newPage();
      await page.goto(auth.verification_uri_complete);
      await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      // No Gatehouse sign-in page: the upstream's own login.
      await upstreamSignIn(page, 'alice');
      await page.getByRole('heading', { name: 'Device connected' }).waitFor();
      const r = await pollUntilDone(solo, auth);
      assert.equal(jwtClaims(String(r.body.id_token)).email, 'alice@example.com');

      // The password form is not there, and posting to it anyway is refused.
      const auth2 = await requestDeviceCode(solo);
      const p2 = await (await browser.newContext()).newPage();
      await p2.goto(auth2.verification_uri_complete);
      await p2.getByRole('heading', { name: 'Confirm this device' }).waitFor();
      await p2.getByRole('button', { name: 'Continue' }).click();
      await p2.locator('input[name=login]').waitFor();
      const path = solo.logs.map((l) => String((l.req as { path?: string } | undefined)?.path ?? '')).reverse().find((u) => /^\/interaction\/[\w-]+$/.test(u));
      assert.ok(path, 'the interaction path is in the request log');
      const posted = await p2.context().request.post(`${solo.publicUrl}${path}/login`, { form: { username: 'alice', password: 'correct horse battery staple' }, maxRedirects: 0 });
      assert.equal(posted.status(), 404);
      assert.match(await posted.text(), /Password sign-in is off/);
      await p2.context().close();
    } finally {
      await context.close();
      await solo.stop();
    }
  });
});
