import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import type { Account } from '../../../src/accounts/account.ts';
import { ALICE, type DeviceServer, jwtClaims, launchBrowser, pageCounter, pollOnce, requestDeviceCode, screenshot, startDeviceServer } from '../../helpers/device.ts';

const SCOPE = 'openid profile email groups posix offline_access';

async function signIn(page: Page, shots?: string, username = ALICE.username): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  if (shots) await screenshot(page, shots, '03-sign-in');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(ALICE.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Waits until the element has keyboard focus (autofocus put it there, not the test). */
async function focused(page: Page, selector: string): Promise<void> {
  await page.locator(selector).evaluate((el) => new Promise<void>((resolve, reject) => {
    const doc = (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument;
    const start = Date.now();
    const check = () => (doc.activeElement === el ? resolve() : Date.now() - start > 5000 ? reject(new Error('not focused')) : setTimeout(check, 20));
    check();
  }));
}

/** Polls like a CLI of our own making: at the announced interval (on the server's clock) until the answer is final. */
async function pollUntilDone(server: DeviceServer, deviceCode: string, interval: number, clientId = 'xxctl') {
  const deadline = Date.now() + 60_000;
  for (;;) {
    server.clock.advance(interval * 1000);
    const r = await pollOnce(server, deviceCode, clientId);
    if (r.body.error !== 'authorization_pending') return r;
    if (Date.now() > deadline) throw new Error('device flow did not finish within 60 s');
    // Still pending: give the approval a moment to land before the next (clock-paced) poll.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('device authorization grant in a real browser', () => {
  let server: DeviceServer;
  let browser: Browser;
  let alice: Account;

  before(async () => {
    server = await startDeviceServer();
    alice = await server.accounts.create(ALICE);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('verification_uri: enter code, confirm (the consent), sign in, done — 4 pages; openid-client receives tokens matching the account', async () => {
    const config = await oidc.discovery(new URL(server.config.issuer), 'xxctl', { token_endpoint_auth_method: 'none' }, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const auth = await oidc.initiateDeviceAuthorization(config, { scope: SCOPE });
    assert.equal(auth.interval, 1);
    assert.equal(auth.expires_in, 600);
    assert.match(auth.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(auth.verification_uri, `${server.config.issuer}/device`);
    const polling = oidc.pollDeviceAuthorizationGrant(config, auth);

    const context = await browser.newContext();
    const page = await context.newPage();
    const pages = pageCounter(page);
    await page.goto(auth.verification_uri);
    await page.getByRole('heading', { name: 'Connect a device' }).waitFor();
    await screenshot(page, 'device', '01-enter-code');
    // Lower case with a space instead of the hyphen: still the same code.
    await page.getByLabel('Code').fill(auth.user_code.toLowerCase().replace('-', ' '));
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    await screenshot(page, 'device', '02-confirm');
    // The self-asserted client name is shown as text, never as markup.
    assert.equal(await page.locator('.client-name').first().textContent(), 'xxctl <b>CLI</b>');
    assert.equal(await page.locator('#confirm-code').textContent(), auth.user_code);
    const body = await page.locator('main').textContent();
    assert.match(body ?? '', /Your email address/);
    assert.match(body ?? '', /numeric Unix user and group ids/);
    assert.match(body ?? '', /Continue only if you started this on your own device just now/);
    await page.getByRole('button', { name: 'Continue' }).click();

    await signIn(page, 'device');
    // The confirmation page named the client, the code and every scope: no second consent page.
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    assert.match((await page.locator('main').textContent()) ?? '', /You can close this window and return to your terminal/);
    await screenshot(page, 'device', '05-success');
    assert.equal(pages.paths.length, 4, `pages seen: ${pages.paths.join(' → ')}`);

    const tokens = await polling;
    assert.ok(tokens.access_token);
    assert.ok(tokens.refresh_token);
    assert.ok(tokens.id_token);
    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(claims.sub, alice.id);
    assert.equal(claims.preferred_username, 'alice');
    assert.equal(claims.name, 'Alice Liddell');
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.email_verified, true);
    assert.deepEqual(claims.groups, ['engineering', 'oncall']);
    assert.equal(claims.uid_number, 1001);
    assert.equal(claims.gid_number, 100);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, 'urn:gatehouse:pwd');

    // The code cannot be used a second time.
    await page.goto(auth.verification_uri_complete!);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Code already used' }).waitFor();
    await screenshot(page, 'device', '06-already-used');
    const audited = (event: string) => server.logs.filter((l) => l.audit === true && l.event === event);
    assert.ok(audited('signin.success').some((l) => l.sub === alice.id && l.client_id === 'xxctl'));
    // No consent page, but the confirmation is recorded as the consent it was.
    assert.ok(audited('consent.granted').some((l) => l.sub === alice.id && l.via === 'device_confirmation' && (l.scope as string[]).includes('posix')));
    assert.ok(audited('device.approved').some((l) => l.sub === alice.id && l.client_id === 'xxctl'));

    const info = await oidc.fetchUserInfo(config, tokens.access_token, alice.id);
    assert.equal(info.email, 'alice@example.com');
    // How the person signed in reaches userinfo too (an SSH host may check MFA there).
    assert.deepEqual(info.amr, ['pwd']);
    assert.equal(info.acr, 'urn:gatehouse:pwd');

    // Public client: the refresh token rotates, and the old one no longer works.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), (err: Error & { error?: string }) => err.error === 'invalid_grant');

    await context.close();
  });

  test('verification_uri_complete opens the confirmation page itself: 3 pages without a session, 2 with one; a repeat by code 3', async () => {
    const bob = await server.accounts.create({ ...ALICE, username: 'bob', email: 'bob@example.com' });
    const context = await browser.newContext();
    const page = await context.newPage();
    const pages = pageCounter(page);
    const approve = async (auth: Awaited<ReturnType<typeof requestDeviceCode>>, expectedPages: number, shot?: string) => {
      await page.getByRole('heading', { name: 'Device connected' }).waitFor();
      assert.equal(pages.paths.length, expectedPages, `pages seen: ${pages.paths.join(' → ')}`);
      if (shot) await screenshot(page, 'device', shot);
      const r = await pollUntilDone(server, auth.device_code, auth.interval);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(jwtClaims(String(r.body.id_token)).sub, bob.id);
      pages.reset();
      return r;
    };

    // No session yet: confirm, sign in, done.
    const first = await requestDeviceCode(server);
    await page.goto(first.verification_uri_complete);
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    await screenshot(page, 'device', '07-link-confirm');
    assert.equal(await page.locator('#confirm-code').textContent(), first.user_code);
    assert.equal((await pollOnce(server, first.device_code)).body.error, 'authorization_pending');
    await page.getByRole('button', { name: 'Continue' }).click();
    await signIn(page, undefined, 'bob');
    const r = await approve(first, 3);
    assert.ok(r.body.refresh_token);
    // A device code works once.
    server.clock.advance(first.interval * 1000);
    const again = await pollOnce(server, first.device_code);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');

    // A live session: the link is confirm, done. Still a confirmation (RFC 8628 §5.4).
    const second = await requestDeviceCode(server);
    await page.goto(second.verification_uri_complete);
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    assert.equal((await pollOnce(server, second.device_code)).body.error, 'authorization_pending');
    await page.getByRole('button', { name: 'Continue' }).click();
    await approve(second, 2, '08-link-with-session-done');

    // A live session, code typed: code, confirm, done.
    const third = await requestDeviceCode(server);
    await page.goto(third.verification_uri);
    await page.getByLabel('Code').fill(third.user_code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await approve(third, 3);
    await context.close();
  });

  test('keyboard only, on a phone-sized screen: autofocus and Enter carry the person through every step', async () => {
    await server.accounts.create({ ...ALICE, username: 'carol', email: 'carol@example.com' });
    const auth = await requestDeviceCode(server, 'xxctl', 'openid email');
    const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true });
    const page = await context.newPage();
    await page.goto(auth.verification_uri);
    await focused(page, '#user_code');
    await page.keyboard.type(auth.user_code);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    await screenshot(page, 'device-mobile', '02-confirm');
    await focused(page, 'button:has-text("Continue")');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await focused(page, '#username');
    await page.keyboard.type('carol');
    await page.keyboard.press('Tab');
    await page.keyboard.type(ALICE.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await screenshot(page, 'device-mobile', '05-success');
    const r = await pollUntilDone(server, auth.device_code, auth.interval);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(jwtClaims(String(r.body.id_token)).email, 'carol@example.com');
    await context.close();
  });
});
