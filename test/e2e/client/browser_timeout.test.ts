// `gatehouse login --browser` waits for the redirect to its loopback port. When nobody comes back
// (the person closed the tab: the sign-in left unfinished, or refused by policy, which the server
// cannot tell a loopback listener), the wait ends with a message saying so, not "interrupted".
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { LoginError, loginWithBrowser, TokenCache } from '../../../src/client/index.ts';
import { launchBrowser } from '../../helpers/device.ts';
import type { TestServer } from '../../helpers/server.ts';
import { startLoginServer } from './cli_session.ts';

describe('loginWithBrowser when nobody comes back', () => {
  let server: TestServer & { home: string };
  let browser: Browser;
  let dir: string;
  before(async () => {
    server = await startLoginServer();
    browser = await launchBrowser();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-browser-timeout-'));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the tab closed at the sign-in page: ERR_LOGIN_EXPIRED naming the wait, nothing cached', async () => {
    const cache = new TokenCache(dir);
    const err = await loginWithBrowser({
      issuer: server.config.issuer, clientId: 'team-cli', cache, timeoutMs: 3000,
      async onAuthorizationUrl(url) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(url);
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await context.close();
      },
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof LoginError, String(err));
    assert.equal(err.code, 'ERR_LOGIN_EXPIRED');
    assert.match(err.message, /^no answer from the browser within 3 seconds \(the sign-in was not finished, or its page was closed\); run the login again$/);
    assert.equal(await cache.read(server.config.issuer, 'team-cli'), undefined);
  });

  test('the caller giving up (Ctrl-C) is still ERR_ABORTED', async () => {
    const stop = new AbortController();
    const err = await loginWithBrowser({ issuer: server.config.issuer, clientId: 'team-cli', cache: new TokenCache(dir), signal: stop.signal, onAuthorizationUrl: () => stop.abort() }).then(() => undefined, (e: unknown) => e);
    assert.equal((err as LoginError).code, 'ERR_ABORTED');
  });
});
