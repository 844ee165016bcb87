import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import type { BrowserContext } from 'playwright-core';
import { runCli } from '../../helpers/cli.ts';
import { pollOnce, requestDeviceCode, screenshot } from '../../helpers/device.ts';
import { deviceToSignIn, openCodeFlow, type SsoWorld, startSsoWorld } from '../../helpers/sso.ts';
import { upstreamSignIn } from '../../helpers/upstream.ts';

/** What another server on the same host does to our session cookie (cookies ignore ports). */
async function replaceSessionCookie(context: BrowserContext, url: string): Promise<void> {
  await context.clearCookies({ name: /^gh_session/ });
  await context.addCookies([{ name: 'gh_session', value: 'someone-elses-session-id', url }]);
}

describe('refusal pages after an upstream sign-in: the device learns at once, no 500 on any path', () => {
  let w: SsoWorld;
  const serverErrors = () => w.gh.logs.filter((l) => Number((l.res as { statusCode?: number } | undefined)?.statusCode) >= 500 || Number(l.level) >= 50);

  before(async () => {
    w = await startSsoWorld();
  });
  after(() => w?.stop());

  test('device flow: the poll answers access_denied as soon as the refusal is shown; reloading, going back or a lost session cookie never give a 500', async () => {
    const { auth, context, page } = await w.deviceViaUpstream('mallory');
    await page.getByRole('heading', { name: 'Access refused' }).waitFor();
    // Nothing clicked, nothing closed: the device already knows.
    const r = await pollOnce(w.gh, auth.device_code);
    assert.equal(r.body.error, 'access_denied', JSON.stringify(r.body));
    assert.match(String(r.body.error_description), /not in a group allowed/);
    const text = (await page.locator('main').textContent()) ?? '';
    assert.match(text, /Your device has been told that access was denied; you can close this tab/);
    assert.equal(await page.getByRole('link', { name: 'Return to the application' }).count(), 0);
    await screenshot(page, 'upstream-refusals', 'device-refused');

    // The device resume address, reached with the session cookie another server on this host replaced.
    const interaction = new URL(page.url()).pathname.split('/')[2]!;
    await replaceSessionCookie(context, w.ghUrl);
    const resumed = await page.goto(`${w.ghUrl}/device/${interaction}`);
    assert.ok(resumed && resumed.status() < 500, `device resume answered ${resumed?.status()}`);
    await page.getByRole('heading', { name: /Connect a device|Code already used|Access denied/ }).waitFor();
    await page.goBack();
    await page.reload();
    assert.doesNotMatch((await page.locator('h1').textContent()) ?? '', /Something went wrong/);
    await context.close();
    assert.deepEqual(serverErrors(), []);
  });

  test('an account disabled here while its browser session lives: device flow and code flow ask to sign in again, refuse, and never 500', async () => {
    // Alice signs in once (a session in this browser), then the operator disables her.
    const first = await w.deviceViaUpstream('alice');
    await first.page.getByRole('heading', { name: 'Device connected' }).waitFor();
    const env = { GATEHOUSE_DATA_DIR: join(w.gh.dir, 'data') };
    assert.equal((await runCli(['users', 'disable', 'corp:alice'], { env, cwd: w.gh.dir })).status, 0);
    try {
      const { page, context } = first;
      const auth = await requestDeviceCode(w.gh);
      await deviceToSignIn(page, auth);
      await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
      await page.getByRole('heading', { name: 'Access refused' }).waitFor();
      assert.match((await page.locator('main').textContent()) ?? '', /disabled/);
      assert.equal((await pollOnce(w.gh, auth.device_code)).body.error, 'access_denied');

      // The same browser in the code flow: the sign-in page, then the refusal, then back to the application.
      const flow = await openCodeFlow(w.browser, w.gh.config.issuer, {
        scope: 'openid',
        state: 'st',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      await flow.context.addCookies(await context.cookies());
      await flow.page.goto(flow.page.url());
      await flow.page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
      await flow.page.getByRole('heading', { name: 'Access refused' }).waitFor();
      await flow.page.getByRole('link', { name: 'Return to the application' }).click();
      await flow.page.getByText('back at the application').waitFor();
      assert.equal(new URL(flow.callback()!).searchParams.get('error'), 'access_denied');
      await flow.context.close();
      await context.close();
    } finally {
      await runCli(['users', 'enable', 'corp:alice'], { env, cwd: w.gh.dir });
    }
    assert.deepEqual(serverErrors(), []);
  });

  test('code flow: the refusal page and its return link, with the session cookie replaced, give a readable page', async () => {
    const { context, page } = await openCodeFlow(w.browser, w.gh.config.issuer, {
      scope: 'openid',
      state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await upstreamSignIn(page, 'eve');
    await page.getByRole('heading', { name: 'Access refused' }).waitFor();
    await replaceSessionCookie(context, w.ghUrl);
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(`${w.ghUrl}/auth/`)), page.getByRole('link', { name: 'Return to the application' }).click()]);
    assert.ok(response.status() < 500, `resume answered ${response.status()}`);
    assert.doesNotMatch((await page.locator('h1').textContent()) ?? '', /Something went wrong/);
    await context.close();
    assert.deepEqual(serverErrors(), []);
  });

  test('the refusal page reloaded or opened in a second tab: "already used", not the tampering page; a browser flow can still tell the application', async () => {
    const flow = await openCodeFlow(w.browser, w.gh.config.issuer, {
      scope: 'openid',
      state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    await flow.page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await upstreamSignIn(flow.page, 'eve');
    await flow.page.getByRole('heading', { name: 'Access refused' }).waitFor();
    const reloaded = await flow.page.reload();
    assert.equal(reloaded?.status(), 409);
    await flow.page.getByRole('heading', { name: 'Sign-in answer already used' }).waitFor();
    const text = (await flow.page.locator('main').textContent()) ?? '';
    assert.doesNotMatch(text, /altered|could not be verified/);
    await flow.page.getByRole('link', { name: 'Continue' }).click();
    await flow.page.getByText('back at the application').waitFor();
    assert.equal(new URL(flow.callback()!).searchParams.get('error'), 'access_denied');
    await flow.context.close();

    const { auth, context, page } = await w.deviceViaUpstream('mallory');
    await page.getByRole('heading', { name: 'Access refused' }).waitFor();
    const second = await context.newPage();
    assert.equal((await second.goto(page.url()))?.status(), 409);
    await second.getByRole('heading', { name: 'Sign-in answer already used' }).waitFor();
    assert.match((await second.locator('main').textContent()) ?? '', /your device has been told the outcome/);
    assert.equal(await second.getByRole('link').filter({ hasText: /Continue|Back to sign-in/ }).count(), 0);
    assert.equal((await pollOnce(w.gh, auth.device_code)).body.error, 'access_denied');
    await context.close();
    assert.ok(w.gh.logs.some((l) => l.event === 'upstream.answer_reused' && l.connector === 'corp'));
    assert.deepEqual(serverErrors(), []);
  });
});
