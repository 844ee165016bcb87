import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { ALICE, approveInBrowser, type DeviceServer, launchBrowser, pollOnce, requestDeviceCode, startDeviceServer } from '../../helpers/device.ts';

// A PAM module that polls every 3 s whatever the server says, against a 5 s `interval`. The
// server's polling pace reads an injected clock, so the poller's 3 s steps cost no real time.
let server: DeviceServer;
let browser: Browser;

before(async () => {
  server = await startDeviceServer({ GATEHOUSE_DEVICE_POLL_INTERVAL: '5s' });
  await server.accounts.create(ALICE);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** gatehouse_device_flow_total by outcome, as /metrics would show it. */
async function outcomes(): Promise<Record<string, number>> {
  const { values } = await server.metrics.deviceFlow.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
}

/** One poll of the fixed-pace client, then its 3 s wait. */
async function pollEvery3s(deviceCode: string) {
  const answer = await pollOnce(server, deviceCode);
  server.clock.advance(3000);
  return answer;
}

test('a poller at a fixed 3 s against a 5 s interval: slow_down while pending, its tokens on the first poll after approval', async () => {
  const auth = await requestDeviceCode(server);
  assert.equal(auth.interval, 5);

  assert.equal((await pollEvery3s(auth.device_code)).body.error, 'authorization_pending');
  for (let i = 0; i < 3; i++) {
    const r = await pollEvery3s(auth.device_code);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'slow_down', JSON.stringify(r.body));
  }

  assert.equal((await outcomes()).slow_down, 3);

  await approveInBrowser(browser, server, auth.user_code);

  const r = await pollEvery3s(auth.device_code);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.token_type, 'Bearer');
  assert.ok(r.body.access_token);
  // The code is used up: a further poll is refused, not answered with tokens again.
  assert.equal((await pollEvery3s(auth.device_code)).body.error, 'invalid_grant');
  assert.deepEqual(await outcomes(), { slow_down: 3, approved: 1 });
});

test('the fixed-pace poller gets the normal refusals: access_denied after a denial, expired_token after expiry', async () => {
  const denied = await requestDeviceCode(server);
  assert.equal((await pollEvery3s(denied.device_code)).body.error, 'authorization_pending');
  assert.equal((await pollEvery3s(denied.device_code)).body.error, 'slow_down');
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.config.issuer}/device`);
  await page.getByLabel('Code').fill(denied.user_code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('button', { name: 'Cancel, this was not me' }).click();
  await page.getByRole('heading', { name: 'Access denied' }).waitFor();
  await page.context().close();
  assert.equal((await pollEvery3s(denied.device_code)).body.error, 'access_denied');

  const expired = await requestDeviceCode(server);
  assert.equal((await pollEvery3s(expired.device_code)).body.error, 'authorization_pending');
  // Let the code's lifetime pass: move its expiry into the past, as time would.
  const stored = await server.store.findByUserCode('DeviceCode', expired.user_code.replace('-', ''));
  assert.ok(stored);
  await server.store.upsert('DeviceCode', String(stored.jti), { ...stored, exp: Math.floor(Date.now() / 1000) - 1 }, 3600);
  const r = await pollEvery3s(expired.device_code);
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'expired_token');
  const counted = await outcomes();
  assert.equal(counted.denied, 1);
  assert.equal(counted.expired, 1);
});
