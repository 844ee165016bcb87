import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ALICE, approveInBrowser, type DeviceServer, launchBrowser, pollOnce, requestDeviceCode, screenshot, startDeviceServer } from '../../helpers/device.ts';

async function enterCode(page: Page, server: DeviceServer, code: string) {
  await page.goto(`${server.config.issuer}/device`);
  await page.getByLabel('Code').fill(code);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/device') && r.request().method() === 'POST'), page.getByRole('button', { name: 'Continue' }).click()]);
  await page.waitForLoadState();
  return response;
}

describe('device flow: denial, expiry, pace, other clients', () => {
  let server: DeviceServer;
  let browser: Browser;

  before(async () => {
    server = await startDeviceServer();
    await server.accounts.create(ALICE);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('cancelling on the confirmation page → denied page, the CLI gets access_denied', async () => {
    const auth = await requestDeviceCode(server);
    const page = await (await browser.newContext()).newPage();
    await enterCode(page, server, auth.user_code);
    await page.getByRole('button', { name: 'Cancel, this was not me' }).click();
    await page.getByRole('heading', { name: 'Access denied' }).waitFor();
    await screenshot(page, 'device', '08-denied');
    const r = await pollOnce(server, auth.device_code);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'access_denied');
    assert.ok(server.logs.some((l) => l.audit === true && l.event === 'device.denied' && l.client_id === 'xxctl'));
    await page.context().close();
  });

  test('cancelling at sign-in → access_denied (there is no consent page to deny on: the confirmation was it)', async () => {
    const auth = await requestDeviceCode(server, 'xxctl', 'openid email');
    const page = await (await browser.newContext()).newPage();
    await enterCode(page, server, auth.user_code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Access denied' }).waitFor();
    assert.equal((await pollOnce(server, auth.device_code)).body.error, 'access_denied');
    await page.context().close();
  });

  test('an expired code → expired_token for the CLI and an "expired" page in the browser', async () => {
    const auth = await requestDeviceCode(server);
    assert.equal((await pollOnce(server, auth.device_code)).body.error, 'authorization_pending');
    // Let the code's lifetime pass: move its expiry into the past, as time would.
    const stored = await server.store.findByUserCode('DeviceCode', auth.user_code.replace('-', ''));
    assert.ok(stored);
    await server.store.upsert('DeviceCode', String(stored.jti), { ...stored, exp: Math.floor(Date.now() / 1000) - 1 }, 3600);
    server.clock.advance(1100);
    const r = await pollOnce(server, auth.device_code);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'expired_token');
    const page = await (await browser.newContext()).newPage();
    await enterCode(page, server, auth.user_code);
    await page.getByRole('heading', { name: 'Code expired' }).waitFor();
    await screenshot(page, 'device', '09-expired');
    await page.context().close();
  });

  test('polling faster than the interval → slow_down and +5 s; polling at the new interval → authorization_pending; tokens on the first poll after approval', async () => {
    const auth = await requestDeviceCode(server);
    assert.equal(auth.interval, 1);
    assert.equal((await pollOnce(server, auth.device_code)).body.error, 'authorization_pending');
    const fast = await pollOnce(server, auth.device_code);
    assert.equal(fast.status, 400);
    assert.equal(fast.body.error, 'slow_down');
    // The new interval is 6 s: 2 s later is still too fast (and raises it again, to 11 s).
    server.clock.advance(2000);
    assert.equal((await pollOnce(server, auth.device_code)).body.error, 'slow_down');
    server.clock.advance(11_100);
    assert.equal((await pollOnce(server, auth.device_code)).body.error, 'authorization_pending');

    await approveInBrowser(browser, server, auth.user_code);

    // Sooner than the 11 s interval, but the flow is no longer pending: the tokens, not slow_down.
    server.clock.advance(1000);
    const r = await pollOnce(server, auth.device_code);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.access_token);
  });

  test("another client's device code → invalid_grant, without slowing the owner down", async () => {
    const auth = await requestDeviceCode(server);
    const stolen = await pollOnce(server, auth.device_code, 'other-cli');
    assert.equal(stolen.status, 400);
    assert.equal(stolen.body.error, 'invalid_grant');
    assert.equal((await pollOnce(server, auth.device_code)).body.error, 'authorization_pending');
    assert.equal((await pollOnce(server, 'not-a-device-code')).body.error, 'invalid_grant');
  });

  test('a poll a little early (up to 2% of the interval) is on time; earlier than that is slow_down', async () => {
    const auth = await requestDeviceCode(server);
    assert.equal(auth.interval, 1);
    assert.equal((await pollOnce(server, auth.device_code)).body.error, 'authorization_pending');
    // 985 ms after: 15 ms early, within the 20 ms a 1 s interval allows (timer and queueing jitter).
    server.clock.advance(985);
    assert.equal((await pollOnce(server, auth.device_code)).body.error, 'authorization_pending');
    // 970 ms after that one: 30 ms early.
    server.clock.advance(970);
    const fast = await pollOnce(server, auth.device_code);
    assert.equal(fast.body.error, 'slow_down');
    assert.match(String(fast.body.error_description), /every 6 s/);
  });

  // Full-width letters are the code itself (NFKC; test/e2e/device_flow/user_codes.test.ts).
  test('odd user-code input is simply "incorrect": homoglyphs, 10 KB strings', async () => {
    const auth = await requestDeviceCode(server);
    const page = await (await browser.newContext()).newPage();
    // Cyrillic look-alikes for the code's Latin letters (and at least the first character replaced).
    const cyrillic: Record<string, string> = { B: 'В', C: 'С', H: 'Н', K: 'К', M: 'М', P: 'Р', T: 'Т', X: 'Х' };
    const lookalike = `В${auth.user_code.slice(1)}`.replace(/[BCHKMPTX]/g, (c) => cyrillic[c]!);
    for (const code of [lookalike, 'X'.repeat(10_000)]) {
      await page.goto(`${server.config.issuer}/device`);
      await page.locator('#user_code').evaluate((el, v) => ((el as unknown as { value: string }).value = v), code);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByText('The code you entered is incorrect').waitFor();
    }
    await screenshot(page, 'device', '10-incorrect');
    await page.context().close();
  });
});

describe('device flow: error page', () => {
  test('a sign-in page from an old or foreign link is a readable error page, not a stack trace', async () => {
    const server = await startDeviceServer();
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const res = await page.goto(`${server.config.issuer}/interaction/no-such-interaction`);
      assert.equal(res?.status(), 400);
      await page.getByRole('heading', { name: 'Sign-in expired' }).waitFor();
      assert.ok(!/at .*\.(ts|js):\d+/.test((await page.locator('main').textContent()) ?? ''));
      await screenshot(page, 'device', '14-error');
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});

describe('device flow: wrong user codes are throttled', () => {
  for (const [label, env] of [
    ['per IP', { GATEHOUSE_USER_CODE_FAILURES_PER_IP: '3', GATEHOUSE_USER_CODE_FAILURES_GLOBAL: '1000' }],
    ['globally', { GATEHOUSE_USER_CODE_FAILURES_PER_IP: '1000', GATEHOUSE_USER_CODE_FAILURES_GLOBAL: '3' }],
  ] as const) {
    test(`after the configured number of wrong codes ${label}: 429 with Retry-After, even for a right code`, async () => {
      const server = await startDeviceServer(env);
      const browser = await launchBrowser();
      try {
        const auth = await requestDeviceCode(server);
        const page = await (await browser.newContext()).newPage();
        for (let i = 0; i < 2; i++) {
          const r = await enterCode(page, server, 'BCDF-GHJK');
          assert.equal(r.status(), 200);
          await page.getByText('The code you entered is incorrect').waitFor();
        }
        const third = await enterCode(page, server, 'BCDF-GHJL');
        assert.equal(third.status(), 429);
        assert.ok(Number(third.headers()['retry-after']) > 0);
        await page.getByRole('heading', { name: 'Too many attempts' }).waitFor();
        if (label === 'per IP') await screenshot(page, 'device', '11-throttled');
        const right = await enterCode(page, server, auth.user_code);
        assert.equal(right.status(), 429);
        assert.ok(Number(right.headers()['retry-after']) > 0);
      } finally {
        await browser.close();
        await server.stop();
      }
    });
  }
});

describe('device flow: links with a code (verification_uri_complete) cannot probe codes', () => {
  test('a link with a code that does not exist counts as a wrong code; once throttled, even a right link only pre-fills the form', async () => {
    const server = await startDeviceServer({ GATEHOUSE_USER_CODE_FAILURES_PER_IP: '3', GATEHOUSE_USER_CODE_FAILURES_GLOBAL: '1000' });
    const browser = await launchBrowser();
    try {
      const auth = await requestDeviceCode(server);
      const page = await (await browser.newContext()).newPage();
      // Pre-filled as the code alphabet leaves them (issue 22's normalisation).
      for (const [code, shown] of [['BCDF-GHJK', 'BCDF-GHJK'], ['not a code', 'NTCD']]) {
        const r = await page.goto(`${server.config.issuer}/device?user_code=${encodeURIComponent(code!)}`);
        assert.equal(r?.status(), 200);
        await page.getByText('The code in this link is incorrect').waitFor();
        assert.equal(await page.getByLabel('Code').inputValue(), shown);
      }
      const third = await page.goto(`${server.config.issuer}/device?user_code=BCDF-GHJL`);
      assert.equal(third?.status(), 429);
      assert.ok(Number(third?.headers()['retry-after']) > 0);
      await page.getByRole('heading', { name: 'Too many attempts' }).waitFor();
      const right = await page.goto(auth.verification_uri_complete);
      assert.equal(right?.status(), 200);
      await page.getByRole('heading', { name: 'Connect a device' }).waitFor();
      assert.equal(await page.getByLabel('Code').inputValue(), auth.user_code);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Too many attempts' }).waitFor();
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});
