import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { listenForCallback, PASSWORD, startCodeServer, WEB_SECRET, type CodeServer } from '../../helpers/code_flow.ts';
import { launchBrowser, screenshot } from '../../helpers/device.ts';

// `xxctl login --browser` and a web app, end to end: openid-client builds the request, Chromium
// signs in and consents on our pages, the redirect lands on a real loopback listener.

async function signInAndConsent(page: Page, shots?: string): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  if (shots) await screenshot(page, shots, '01-sign-in');
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
  if (shots) await screenshot(page, shots, '02-consent');
  await page.getByRole('button', { name: 'Allow' }).click();
}

function discover(server: CodeServer, clientId: string, secret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(server.config.issuer),
    clientId,
    secret ? { client_secret: secret } : { token_endpoint_auth_method: 'none' },
    secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
    { execute: [oidc.allowInsecureRequests] },
  );
}

describe('authorization code + PKCE in a real browser', () => {
  let server: CodeServer;
  let browser: Browser;

  before(async () => {
    server = await startCodeServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const host of ['127.0.0.1', '::1'] as const) {
    test(`native CLI on a random ${host} port: code, state and iss reach the listener; the verifier gets tokens`, async () => {
      const callback = await listenForCallback(host);
      try {
        const config = await discover(server, 'xxctl');
        assert.equal(config.serverMetadata().authorization_response_iss_parameter_supported, true);
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        const url = oidc.buildAuthorizationUrl(config, {
          redirect_uri: callback.redirectUri,
          scope: 'openid email offline_access',
          // offline_access is only granted with prompt=consent (OpenID Connect Core §11).
          prompt: 'consent',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        const context = await browser.newContext();
        const page = await context.newPage();
        const shots = host === '127.0.0.1' ? 'code-flow' : undefined;
        await page.goto(url.href);
        await signInAndConsent(page, shots);
        const received = await callback.next();
        await page.getByRole('heading', { name: 'Signed in' }).waitFor();
        if (shots) await screenshot(page, shots, '03-loopback');
        assert.equal(`${received.origin}${received.pathname}`, callback.redirectUri);
        assert.ok(received.searchParams.get('code'));
        assert.equal(received.searchParams.get('state'), state);
        assert.equal(received.searchParams.get('iss'), server.config.issuer);

        const tokens = await oidc.authorizationCodeGrant(config, received, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
        assert.ok(tokens.access_token);
        assert.ok(tokens.refresh_token, 'offline_access with consent gives a refresh token');
        const claims = tokens.claims();
        assert.ok(claims);
        assert.equal(claims.sub, server.aliceId);
        assert.equal(claims.nonce, nonce);
        assert.equal(claims.aud, 'xxctl');
        assert.equal(claims.email, 'alice@example.com');
        const info = await oidc.fetchUserInfo(config, tokens.access_token, server.aliceId);
        assert.equal(info.email, 'alice@example.com');

        // A second login in the same browser reuses the session (no password) but, for a native
        // client, still asks before handing out a code (RFC 8252 §8.6), listing what is asked for.
        const again = await listenForCallback(host);
        const state2 = oidc.randomState();
        const verifier2 = oidc.randomPKCECodeVerifier();
        await page.goto(oidc.buildAuthorizationUrl(config, {
          redirect_uri: again.redirectUri,
          scope: 'openid email',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier2),
          code_challenge_method: 'S256',
          state: state2,
        }).href);
        await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
        const consent = (await page.locator('main').textContent()) ?? '';
        assert.match(consent, /Your email address/);
        assert.match(consent, /asks each time an application on your computer signs you in/);
        assert.doesNotMatch(consent, /will not be asked again/);
        if (shots) await screenshot(page, shots, '04-asked-again');
        await page.getByRole('button', { name: 'Allow' }).click();
        const second = await again.next();
        await again.close();
        assert.notEqual(new URL(again.redirectUri).port, new URL(callback.redirectUri).port);
        const tokens2 = await oidc.authorizationCodeGrant(config, second, { pkceCodeVerifier: verifier2, expectedState: state2 });
        assert.equal(tokens2.claims()?.sub, server.aliceId);
        await context.close();
      } finally {
        await callback.close();
      }
    });
  }

  test('confidential web client on its exact loopback redirect: client secret and PKCE', async () => {
    const callback = await listenForCallback('127.0.0.1', '/cb', server.webPort);
    try {
      assert.equal(callback.redirectUri, server.webRedirect);
      const config = await discover(server, 'webapp', WEB_SECRET);
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(oidc.buildAuthorizationUrl(config, {
        redirect_uri: server.webRedirect,
        scope: 'openid profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      }).href);
      await signInAndConsent(page, 'code-flow-web');
      const received = await callback.next();
      assert.equal(received.searchParams.get('state'), state);
      assert.equal(received.searchParams.get('iss'), server.config.issuer);
      const tokens = await oidc.authorizationCodeGrant(config, received, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
      assert.equal(tokens.claims()?.sub, server.aliceId);
      assert.equal(tokens.claims()?.aud, 'webapp');
      assert.equal(tokens.refresh_token, undefined, 'no offline_access asked, no refresh token');

      // Logout back to the web client: only a registered post_logout_redirect_uri, with state.
      const bye = `http://127.0.0.1:${server.webPort}/bye`;
      const refused = await page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${bye}/elsewhere` }).href);
      assert.equal(refused?.status(), 400);
      assert.match(await refused!.text(), /post_logout_redirect_uri/);
      await page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: bye, state: 'bye-state' }).href);
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      const back = await callback.next();
      assert.equal(`${back.origin}${back.pathname}`, bye);
      assert.equal(back.searchParams.get('state'), 'bye-state');
      await context.close();
    } finally {
      await callback.close();
    }
  });

  test('RP-initiated logout: our page (no inline script, strict CSP), then the session is gone', async () => {
    const callback = await listenForCallback('127.0.0.1');
    try {
      const config = await discover(server, 'xxctl');
      const verifier = oidc.randomPKCECodeVerifier();
      const context = await browser.newContext();
      const page = await context.newPage();
      const login = async () => {
        await page.goto(oidc.buildAuthorizationUrl(config, {
          redirect_uri: callback.redirectUri,
          scope: 'openid',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state: 's',
        }).href);
      };
      await login();
      await signInAndConsent(page);
      const tokens = await oidc.authorizationCodeGrant(config, await callback.next(), { pkceCodeVerifier: verifier, expectedState: 's' });

      const logoutUrl = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! });
      const res = await page.goto(logoutUrl.href);
      assert.ok(res);
      const csp = (await res.allHeaders())['content-security-policy'] ?? '';
      assert.match(csp, /script-src 'self'/);
      assert.ok(!csp.includes('unsafe-inline'));
      const html = await res.text();
      assert.ok(!/<script/i.test(html), 'no script on the logout page');
      assert.ok(!/<style|\sstyle=|\son[a-z]+=/i.test(html), 'no inline style or handlers');
      await page.getByRole('heading', { name: 'Sign out?' }).waitFor();
      assert.match((await page.locator('main').textContent()) ?? '', /xxctl/);
      await screenshot(page, 'code-flow', '05-logout');
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
      await screenshot(page, 'code-flow', '06-logged-out');

      // The session is over: the next authorization asks for the password again.
      await login();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await context.close();
    } finally {
      await callback.close();
    }
  });
});
