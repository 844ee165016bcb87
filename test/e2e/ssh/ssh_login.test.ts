import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import type { Account } from '../../../src/accounts/account.ts';
import { runCli } from '../../helpers/cli.ts';
import { ALICE, type DeviceServer, launchBrowser, pageCounter, screenshot, startDeviceServer } from '../../helpers/device.ts';
import { freePort } from '../../helpers/net.ts';
import { sshLogin, startSshd, stopSshClients, type TestSshd } from './sshd.ts';

/**
 * SSH logins through the device flow, end to end: a real sshd (its own PAM service running
 * host/pam/gatehouse_pam.py under pam_python), OpenSSH's client over keyboard-interactive, and
 * Chromium approving on Gatehouse's pages. The host client is made with `gatehouse clients add --ssh`.
 */
describe('SSH login through Gatehouse (real sshd, PAM module, Chromium)', () => {
  let server: DeviceServer;
  let sshd: TestSshd;
  let browser: Browser;
  let person: Account;
  let settings: Record<string, string>;
  let hostSecret: string;

  before(async () => {
    server = await startDeviceServer({ GATEHOUSE_STORE: 'sqlite' });
    // The PAM module paces its polls by the wall clock, so the server's pacing must too.
    server.clock.followRealTime();
    sshd = await startSshd();
    const env = { GATEHOUSE_DATA_DIR: server.config.dataDir, GATEHOUSE_ISSUER: server.config.issuer };
    const added = await runCli(['clients', 'add', '--ssh', '--id', 'build-42', '--name', 'build-42 (SSH)'], { env });
    assert.equal(added.status, 0, added.stderr);
    const client = JSON.parse(added.stdout) as Record<string, unknown>;
    assert.deepEqual(client.grant_types, ['urn:ietf:params:oauth:grant-type:device_code']);
    assert.equal(client.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(client.scope, 'openid profile groups posix');
    hostSecret = String(client.client_secret);
    const secretFile = join(sshd.dir, 'client_secret');
    writeFileSync(secretFile, `${String(client.client_secret)}\n`, { mode: 0o600 });
    chmodSync(secretFile, 0o600);
    settings = { issuer: server.config.issuer, client_id: 'build-42', client_secret_file: secretFile, timeout: '90' };
    person = await server.accounts.create({ ...ALICE, username: sshd.user, groups: ['engineering'], uidNumber: sshd.uid, gidNumber: sshd.uid });
    await server.accounts.create({ ...ALICE, username: 'mallory', groups: ['engineering'], uidNumber: 4242, gidNumber: 4242 });
    browser = await launchBrowser();
  });
  after(async () => {
    stopSshClients();
    await browser?.close();
    await sshd?.stop();
    await server?.stop();
  });

  /** Reads the link and code from the prompt, checking the QR code is there too. */
  function linkAndCode(text: string): { link: string; code: string } {
    const link = /Open:\s+(\S+)/.exec(text)?.[1];
    const code = /Code:\s+([A-Z]{4}-[A-Z]{4})/.exec(text)?.[1];
    assert.ok(link && code, `link and code in the first prompt: ${text}`);
    assert.match(text, /[▀▄█]{10}/, 'a QR code drawn with block characters');
    assert.match(text, /Press Enter once you have approved/);
    return { link, code };
  }

  async function signIn(page: Page, username: string, totpSecret?: Secret): Promise<void> {
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(ALICE.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    if (totpSecret) {
      await page.getByRole('heading', { name: 'Two-factor code' }).waitFor();
      await page.getByLabel('Code').fill(TOTP.generate({ secret: totpSecret }));
      await page.getByRole('button', { name: 'Verify' }).click();
    }
  }

  /** One login: the module's prompt, then `approve` in the browser, then Enter. */
  async function login(approve: (link: string, page: Page) => Promise<void>, pageOf?: Page) {
    const ssh = sshLogin(sshd.port, sshd.user);
    const prompt = await ssh.firstPrompt;
    const { link, code } = linkAndCode(prompt);
    assert.ok(link.endsWith(`user_code=${code}`), link);
    const page = pageOf ?? (await (await browser.newContext()).newPage());
    await approve(link, page);
    await ssh.pressEnter();
    const result = await ssh.result;
    if (!pageOf) await page.context().close();
    return { result, text: `${prompt}\n${result.ok ? '' : result.stderr}` };
  }

  const approveAs = (username: string, totpSecret?: Secret) => async (link: string, page: Page) => {
    await page.goto(link);
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await signIn(page, username, totpSecret);
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
  };

  test('the link and code come in the first prompt before any approval; Chromium approves; `id -un` runs as the user', async () => {
    sshd.configure(settings);
    const ssh = sshLogin(sshd.port, sshd.user);
    const { link, code } = linkAndCode(await ssh.firstPrompt);
    // Nothing is approved yet: the code is still waiting at Gatehouse.
    const stored = await server.store.findByUserCode('DeviceCode', code.replace('-', ''));
    assert.ok(stored && !stored.accountId && !stored.error, 'the prompt arrived while the code was pending');

    const context = await browser.newContext();
    const page = await context.newPage();
    const pages = pageCounter(page);
    await page.goto(link);
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    assert.match((await page.locator('main').textContent()) ?? '', /build-42 \(SSH\)/);
    await screenshot(page, 'ssh', '01-confirm');
    await page.getByRole('button', { name: 'Continue' }).click();
    await signIn(page, sshd.user);
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await screenshot(page, 'ssh', '02-done');
    assert.equal(pages.paths.length, 3, `link without a session: confirm, sign in, done — saw ${pages.paths.join(' → ')}`);
    await ssh.pressEnter();
    const result = await ssh.result;
    assert.deepEqual(result, { ok: true, idUn: sshd.user });
    // The module kept to the announced interval: Gatehouse never had to say slow_down.
    assert.ok(!server.logs.some((l) => l.event === 'grant.error' && l.error === 'slow_down' && l.client_id === 'build-42'), 'no slow_down for the PAM module');

    // Same browser, live session, numeric uid as the matching claim: confirm, done.
    sshd.configure({ ...settings, claim: 'uid_number' });
    pages.reset();
    const again = await login(async (l, p) => {
      await p.goto(l);
      await p.getByRole('heading', { name: 'Confirm this device' }).waitFor();
      await p.getByRole('button', { name: 'Continue' }).click();
      await p.getByRole('heading', { name: 'Device connected' }).waitFor();
    }, page);
    assert.deepEqual(again.result, { ok: true, idUn: sshd.user }, again.text);
    assert.equal(pages.paths.length, 2, `link with a live session: confirm, done — saw ${pages.paths.join(' → ')}`);
    await context.close();
  });

  test('told to slow down, the module waits the longer interval (one slow_down, not a string of them) and still logs in', async () => {
    sshd.configure(settings);
    const slowDowns = () => server.logs.filter((l) => l.event === 'grant.error' && l.error === 'slow_down' && l.client_id === 'build-42').length;
    const before = slowDowns();
    const ssh = sshLogin(sshd.port, sshd.user);
    const { link, code } = linkAndCode(await ssh.firstPrompt);
    // Another poll of the same device code just before the module's: the module's comes too soon.
    const stored = await server.store.findByUserCode('DeviceCode', code.replace('-', ''));
    assert.ok(stored);
    const early = await fetch(`${server.publicUrl}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`build-42:${hostSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: String(stored.jti) }),
    });
    assert.equal(((await early.json()) as { error?: string }).error, 'authorization_pending');
    await ssh.pressEnter();
    const deadline = Date.now() + 30_000;
    while (slowDowns() === before) {
      assert.ok(Date.now() < deadline, 'the module polled right after Enter and got slow_down');
      await delay(50);
    }
    // Approve only after a module that ignored slow_down would have polled again (1 s interval);
    // one that honours it waits 6 s, so it sees no second slow_down.
    await delay(2500);
    const context = await browser.newContext();
    await approveAs(sshd.user)(link, await context.newPage());
    await context.close();
    const result = await ssh.result;
    assert.deepEqual(result, { ok: true, idUn: sshd.user });
    assert.equal(slowDowns() - before, 1, 'the module kept to interval + 5 s after its slow_down');
  });

  test('refused: approved by a different Gatehouse user, by preferred_username and by uid', async () => {
    for (const claim of ['preferred_username', 'uid_number']) {
      sshd.configure({ ...settings, claim });
      const { result, text } = await login(approveAs('mallory'));
      assert.equal(result.ok, false, text);
      assert.match(text, claim === 'uid_number' ? /no uid_number matching/ : /approved by Gatehouse user 'mallory'/);
    }
  });

  test('refused: denied in the browser', async () => {
    sshd.configure(settings);
    const { result, text } = await login(async (link, page) => {
      await page.goto(link);
      await page.getByRole('button', { name: 'Cancel, this was not me' }).click();
      await page.getByRole('heading', { name: 'Access denied' }).waitFor();
    });
    assert.equal(result.ok, false);
    assert.match(text, /denied in the browser/);
  });

  test('refused: the code expires before approval', async () => {
    sshd.configure(settings);
    const { result, text } = await login(async (link) => {
      // Let the code's lifetime pass, as time would: its expiry moves into the past.
      const userCode = new URL(link).searchParams.get('user_code')!.replace('-', '');
      const stored = await server.store.findByUserCode('DeviceCode', userCode);
      assert.ok(stored);
      await server.store.upsert('DeviceCode', String(stored.jti), { ...stored, exp: Math.floor(Date.now() / 1000) - 1 }, 3600);
    });
    assert.equal(result.ok, false);
    assert.match(text, /expired/);
  });

  test('refused: a required group the person is not in', async () => {
    sshd.configure({ ...settings, group: 'build-admins' });
    const { result, text } = await login(approveAs(sshd.user));
    assert.equal(result.ok, false);
    assert.match(text, /not in the Gatehouse group 'build-admins'/);
  });

  test('MFA required: refused after a password alone, accepted after password and TOTP', async () => {
    sshd.configure({ ...settings, mfa: 'yes', group: 'engineering' });
    const refused = await login(approveAs(sshd.user));
    assert.equal(refused.result.ok, false);
    assert.match(refused.text, /requires a second factor/);

    const secret = new Secret();
    await server.accounts.update(person, { totpSecret: secret.base32 });
    const accepted = await login(approveAs(sshd.user, secret));
    assert.deepEqual(accepted.result, { ok: true, idUn: sshd.user }, accepted.text);
  });

  test('refused: Gatehouse unreachable — no prompt, a readable reason, within seconds', async () => {
    const closed = await freePort();
    sshd.configure({ ...settings, issuer: `http://127.0.0.1:${closed}` });
    const ssh = sshLogin(sshd.port, sshd.user);
    const result = await ssh.result;
    assert.ok(!result.ok);
    assert.match(result.stderr, /Gatehouse login failed: cannot reach Gatehouse at 127\.0\.0\.1:\d+/);
    assert.equal(await ssh.firstPrompt, '', 'nothing to approve, nothing asked');
  });
});
