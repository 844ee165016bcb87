import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { runCli } from '../../helpers/cli.ts';
import { jwtClaims, pollOnce, requestDeviceCode, screenshot } from '../../helpers/device.ts';
import type { TestServer } from '../../helpers/server.ts';
import { CORP_SECRET, LIAR_SECRET, deviceToSignIn, openCodeFlow, pollUntilDone, type SsoWorld, startSsoWorld, upstreamClients } from '../../helpers/sso.ts';
import { startUpstream, type Upstream, upstreamSignIn } from '../../helpers/upstream.ts';

describe('upstream sign-in: refusals, failures, forged callbacks', () => {
  let w: SsoWorld;
  let upstream: Upstream;
  let gh: TestServer;
  let browser: Browser;
  let ghUrl: string;
  let latePort: number;
  let soloPort: number;
  let jwk: object;
  const deviceViaUpstream = (login: string, label?: string, shots?: string) => w.deviceViaUpstream(login, label, shots);

  before(async () => {
    w = await startSsoWorld();
    ({ upstream, gh, browser, ghUrl, latePort, soloPort, jwk } = w);
  });
  after(() => w?.stop());

  test('policy: a user outside the required groups or allowed domains gets a refusal page, and the client gets access_denied', async () => {
    for (const [login, why] of [['mallory', /not in a group allowed/], ['eve', /not in a domain allowed/]] as const) {
      const { auth, context, page } = await deviceViaUpstream(login);
      await page.getByRole('heading', { name: 'Access refused' }).waitFor();
      assert.match((await page.locator('main').textContent()) ?? '', why);
      await screenshot(page, 'upstream-refusals', `${login}-refused`);
      // The device is told at once; the page has nothing left to click.
      const r = await pollOnce(gh, auth.device_code);
      assert.equal(r.body.error, 'access_denied');
      await context.close();
    }
    assert.ok(gh.logs.some((l) => l.audit === true && l.event === 'signin.failure' && l.reason === 'upstream_group'));
    assert.ok(gh.logs.some((l) => l.audit === true && l.event === 'signin.failure' && l.reason === 'upstream_domain'));
    const list = await runCli(['users', 'list', '--json'], { env: { GATEHOUSE_DATA_DIR: join(gh.dir, 'data') }, cwd: gh.dir });
    assert.doesNotMatch(list.stdout, /mallory|eve@/, 'refused people get no account');

    // The same in the code flow: the application is sent error=access_denied.
    const { context, page, callback } = await openCodeFlow(browser, gh.config.issuer, {
      scope: 'openid',
      state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await upstreamSignIn(page, 'mallory');
    await page.getByRole('heading', { name: 'Access refused' }).waitFor();
    await page.getByRole('link', { name: 'Return to the application' }).click();
    await page.getByText('back at the application').waitFor();
    assert.equal(new URL(callback()!).searchParams.get('error'), 'access_denied');
    assert.equal(new URL(callback()!).searchParams.get('state'), 'st');
    await context.close();
  });

  test('an upstream that is down at start and at first use: readable page and a log line, then it works once it answers', async () => {
    const auth = await requestDeviceCode(gh);
    const context = await browser.newContext();
    const page = await context.newPage();
    await deviceToSignIn(page, auth);
    await page.getByRole('button', { name: 'Continue with Late SSO' }).click();
    await page.getByRole('heading', { name: 'Sign-in service unavailable' }).waitFor();
    assert.match((await page.locator('main').textContent()) ?? '', /Late SSO is not answering/);
    await screenshot(page, 'upstream-refusals', 'upstream-down');
    assert.ok(gh.logs.some((l) => l.event === 'upstream.unavailable' && l.connector === 'late'));
    const late = await startUpstream(upstreamClients(ghUrl, `http://127.0.0.1:${soloPort}`, jwk) as never, latePort);
    try {
      late.users.set('alice', { email: 'alice@example.com', email_verified: true, preferred_username: 'alice', groups: ['x'] });
      await page.getByRole('link', { name: 'Back to sign-in' }).click();
      await page.getByRole('button', { name: 'Continue with Late SSO' }).click();
      await upstreamSignIn(page, 'alice');
      await page.getByRole('heading', { name: 'Device connected' }).waitFor();
      const r = await pollUntilDone(gh, auth);
      assert.equal(r.status, 200);
      // The account is keyed by this upstream's issuer and subject (another issuer, another account:
      // test/accounts/federated.test.ts).
      const list = JSON.parse((await runCli(['users', 'list', '--json'], { env: { GATEHOUSE_DATA_DIR: join(gh.dir, 'data') }, cwd: gh.dir })).stdout) as Array<{ id: string; upstream?: { connector: string; issuer: string; subject: string } }>;
      const lateAccount = list.find((a) => a.upstream?.connector === 'late');
      assert.deepEqual({ issuer: lateAccount?.upstream?.issuer, subject: lateAccount?.upstream?.subject }, { issuer: late.issuer, subject: 'alice' });
      assert.equal(jwtClaims(String(r.body.id_token)).sub, lateAccount?.id);
    } finally {
      await context.close();
      await late.stop();
    }
  });

  test('the person cancels at the upstream (it answers error=access_denied): a readable page, and they can choose again', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await deviceToSignIn(page, await requestDeviceCode(gh));
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await page.locator('input[name=login]').waitFor();
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    await page.getByRole('heading', { name: 'Sign-in not completed' }).waitFor();
    const text = (await page.locator('main').textContent()) ?? '';
    assert.match(text, /Corp SSO did not sign you in/);
    assert.match(text, /access_denied/);
    assert.ok(gh.logs.some((l) => l.event === 'upstream.upstream_error' && l.connector === 'corp' && l.upstream_error === 'access_denied'));
    await page.getByRole('link', { name: 'Back to sign-in' }).click();
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).waitFor();
    await context.close();
  });

  test('forged and replayed callbacks are refused: tampered state, reused state, wrong nonce, another issuer', async () => {
    // Watch the callback go by, then play with it.
    const context = await browser.newContext();
    const page = await context.newPage();
    const auth = await requestDeviceCode(gh);
    let callback: URL | undefined;
    page.on('request', (req) => {
      if (req.url().startsWith(`${ghUrl}/upstream/corp/callback`)) callback = new URL(req.url());
    });
    await deviceToSignIn(page, auth);
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await upstreamSignIn(page, 'alice');
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    assert.ok(callback);

    // Used once already: a replay is refused.
    const replay = await page.goto(callback.href);
    assert.equal(replay?.status(), 400);
    await page.getByRole('heading', { name: 'Sign-in response refused' }).waitFor();
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    const res = await page.goto(tampered.href);
    assert.equal(res?.status(), 400);
    await page.getByRole('heading', { name: 'Sign-in response refused' }).waitFor();
    await screenshot(page, 'upstream-refusals', 'tampered-state');
    assert.ok(gh.logs.some((l) => l.event === 'upstream.rejected' && /state/.test(String(l.error))));
    await context.close();

    // The state kept for a sign-in now names another nonce than the one sent: the ID token's nonce does not match.
    const c2 = await browser.newContext();
    const p2 = await c2.newPage();
    await deviceToSignIn(p2, await requestDeviceCode(gh));
    await p2.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await p2.locator('input[name=login]').waitFor();
    for (const { id, payload } of await gh.store.list('UpstreamState', { limit: 1000 })) {
      if (!payload.consumed) await gh.store.upsert('UpstreamState', id, { ...payload, nonce: 'not-the-nonce-sent' }, 300);
    }
    await upstreamSignIn(p2, 'alice');
    await p2.getByRole('heading', { name: 'Sign-in response refused' }).waitFor();
    assert.ok(gh.logs.some((l) => l.event === 'upstream.rejected' && l.connector === 'corp' && /nonce/i.test(String(l.error))));
    await c2.close();

    // Discovery says "I am the liar" but the response and ID token come from the real upstream:
    // refused at the RFC 9207 `iss` response parameter...
    const c3 = await browser.newContext();
    const p3 = await c3.newPage();
    await deviceToSignIn(p3, await requestDeviceCode(gh));
    await p3.getByRole('button', { name: 'Continue with Liar SSO' }).click();
    await upstreamSignIn(p3, 'alice');
    await p3.getByRole('heading', { name: 'Sign-in response refused' }).waitFor();
    assert.ok(gh.logs.some((l) => l.event === 'upstream.rejected' && l.connector === 'liar' && /"iss" \(issuer\) response parameter/.test(String(l.error))));
    // ...and, with that parameter stripped on the way back (the liar's discovery does not promise it),
    // at the ID token's own `iss` claim.
    const c4 = await browser.newContext();
    const p4 = await c4.newPage();
    await deviceToSignIn(p4, await requestDeviceCode(gh));
    await p4.route(`${upstream.issuer}/**`, async (route) => {
      // Follow the upstream's own redirects here, to catch the one back to Gatehouse.
      let response = await route.fetch({ maxRedirects: 0 });
      let location = response.headers().location;
      while (location && new URL(location, upstream.issuer).origin === upstream.issuer) {
        response = await c4.request.get(new URL(location, upstream.issuer).href, { maxRedirects: 0 });
        location = response.headers().location;
      }
      if (!location?.startsWith(`${ghUrl}/upstream/liar/callback`)) return route.fulfill({ response });
      const stripped = new URL(location);
      stripped.searchParams.delete('iss');
      return route.fulfill({ status: 303, headers: { location: stripped.href } });
    });
    await p4.getByRole('button', { name: 'Continue with Liar SSO' }).click();
    await upstreamSignIn(p4, 'alice');
    await p4.getByRole('heading', { name: 'Sign-in response refused' }).waitFor();
    await c4.close();
    assert.ok(gh.logs.some((l) => l.event === 'upstream.rejected' && l.connector === 'liar' && /JWT "iss" \(issuer\) claim/.test(String(l.error))), JSON.stringify(gh.logs.filter((l) => l.connector === 'liar').map((l) => l.error)));
    // A connector whose issuer's discovery names another issuer is stopped before anyone is sent there.
    await p3.goBack();
    await deviceToSignIn(p3, await requestDeviceCode(gh));
    await p3.getByRole('button', { name: 'Continue with Wrong SSO' }).click();
    await p3.getByRole('heading', { name: 'Sign-in service misconfigured' }).waitFor();
    assert.ok(gh.logs.some((l) => l.event === 'upstream.misconfigured' && l.connector === 'wrong'));
    await c3.close();

    // Secrets never reach the logs.
    for (const secret of [CORP_SECRET, LIAR_SECRET, 'BEGIN PRIVATE KEY']) assert.ok(!gh.logText().includes(secret), 'a secret was logged');
  });
});
