import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { introspect, signInAndAllow, startLoginServer } from '../client/cli_session.ts';
import { ROOT } from '../../helpers/cli.ts';
import { launchBrowser, screenshot } from '../../helpers/device.ts';
import type { TestServer } from '../../helpers/server.ts';

// Built by test/setup/tools.sh from test/e2e/interop/go with golang.org/x/oauth2 from the Go module proxy.
const BIN = join(ROOT, '.tools', 'bin', 'oauth2-interop');

/** Runs the Go client; `next()` resolves with each JSON line it prints. */
function runGo(args: string[]) {
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines: Array<Record<string, unknown>> = [];
  const waiting: Array<(l: Record<string, unknown>) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const w = waiting.shift();
    if (w) w(parsed);
    else lines.push(parsed);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    exited,
    stderr: () => stderr,
    next(): Promise<Record<string, unknown>> {
      const ready = lines.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        void exited.then((code) => reject(new Error(`oauth2-interop exited ${code}: ${stderr}`)));
      });
    },
  };
}

describe('golang.org/x/oauth2 against Gatehouse', () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startLoginServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('DeviceAuth + DeviceAccessToken: approved in chromium, then userinfo and a refresh through the library', async () => {
    const go = runGo(['-issuer', server.config.issuer, '-client-id', 'team-cli', '-mode', 'device']);
    const device = await go.next();
    assert.equal(device.event, 'device');
    assert.equal(device.verification_uri, `${server.config.issuer}/device`);
    assert.equal(device.interval, 1);

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(device.verification_uri as string);
    await page.getByLabel('Code').fill(device.user_code as string);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await signInAndAllow(page, false);
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await context.close();

    const token = await go.next();
    assert.equal(await go.exited, 0, go.stderr());
    assert.equal(token.event, 'token');
    assert.equal(token.token_type, 'Bearer');
    assert.equal(typeof token.id_token, 'string');
    assert.equal(token.userinfo_status, 200);
    assert.equal((token.userinfo as Record<string, unknown>).preferred_username, 'alice');
    assert.ok(token.refreshed_access_token && token.refreshed_access_token !== token.access_token);
    const info = await introspect(server, token.refreshed_access_token as string);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'team-cli');
  });

  test('AuthCodeURL with S256ChallengeOption, Exchange with VerifierOption, on a 127.0.0.1 port of its choosing', async () => {
    const go = runGo(['-issuer', server.config.issuer, '-client-id', 'team-cli', '-mode', 'pkce']);
    const authorize = await go.next();
    assert.equal(authorize.event, 'authorize');
    const url = new URL(authorize.url as string);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.match(url.searchParams.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url.href);
    await signInAndAllow(page);
    await page.getByText('Signed in with golang.org/x/oauth2').waitFor();
    await screenshot(page, 'interop', 'go-pkce-callback');
    await context.close();

    const token = await go.next();
    assert.equal(await go.exited, 0, go.stderr());
    assert.equal(token.userinfo_status, 200);
    assert.equal((token.userinfo as Record<string, unknown>).preferred_username, 'alice');
    assert.equal((await introspect(server, token.access_token as string)).active, true);
    assert.ok(token.refreshed_access_token);
  });

});
