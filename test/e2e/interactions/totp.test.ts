import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import type { Browser } from 'playwright-core';
import { runCli } from '../../helpers/cli.ts';
import { type DeviceServer, jwtClaims, launchBrowser, pollOnce, requestDeviceCode, screenshot, startDeviceServer } from '../../helpers/device.ts';

const PASSWORD = 'six-impossible-things';

describe('TOTP second factor in the device flow (user made with the real CLI)', () => {
  let dir: string;
  let secret: Secret;
  let server: DeviceServer;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-totp-'));
    const env = { GATEHOUSE_DATA_DIR: join(dir, 'data') };
    const add = await runCli(['users', 'add', 'dodo', '--email', 'dodo@example.com', '--password-stdin'], { env, input: PASSWORD, cwd: dir });
    assert.equal(add.status, 0, add.stderr);
    const enroll = await runCli(['users', 'totp', 'enroll', 'dodo'], { env, cwd: dir });
    assert.equal(enroll.status, 0, enroll.stderr);
    const uri = /otpauth:\/\/totp\/\S+/.exec(enroll.stdout)?.[0];
    assert.ok(uri);
    secret = Secret.fromBase32(new URL(uri).searchParams.get('secret')!);
    server = await startDeviceServer(env);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('after the password, a wrong code is refused and the current code signs in; the ID token says so', async () => {
    const auth = await requestDeviceCode(server, 'xxctl', 'openid email');
    const page = await (await browser.newContext()).newPage();
    await page.goto(auth.verification_uri_complete);
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username').fill('dodo');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: 'Two-factor code' }).waitFor();
    await screenshot(page, 'device', '12-totp');
    const now = Date.now();
    const valid = new Set([-30_000, 0, 30_000].map((d) => TOTP.generate({ secret, timestamp: now + d })));
    let wrong = '000000';
    for (let n = 0; valid.has(wrong); n++) wrong = String(n).padStart(6, '0');
    await page.getByLabel('Code').fill(wrong);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('That code is not valid').waitFor();
    await screenshot(page, 'device', '13-totp-wrong');
    assert.equal((await pollOnce(server, auth.device_code)).body.error, 'authorization_pending');

    await page.getByLabel('Code').fill(TOTP.generate({ secret }));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();

    server.clock.advance(auth.interval * 1000);
    const r = await pollOnce(server, auth.device_code);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const claims = jwtClaims(String(r.body.id_token));
    assert.equal(claims.email, 'dodo@example.com');
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, 'urn:gatehouse:mfa');
  });
});
