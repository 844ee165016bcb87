import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CLIENTS, type DeviceAuthorization, launchBrowser, pollOnce, requestDeviceCode, screenshot } from './device.ts';
import { freePort, startTestServer, type TestServer } from './server.ts';
import { startIssuerLiar, startUpstream, type Upstream, upstreamSignIn } from './upstream.ts';

export const CORP_SECRET = 'corp-client-secret-0123456789abcdefghijklmnop';
export const LIAR_SECRET = 'liar-client-secret-0123456789abcdefghijklmnop';
const NATIVE = { client_id: 'cli-native', application_type: 'native', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: ['http://127.0.0.1/callback'] };

/** Polls at the announced interval (on the server's clock) until the answer is final. */
export async function pollUntilDone(server: TestServer, auth: DeviceAuthorization) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    server.clock.advance(auth.interval * 1000);
    const r = await pollOnce(server, auth.device_code);
    if (r.body.error !== 'authorization_pending') return r;
    if (Date.now() > deadline) throw new Error('device flow did not finish within 60 s');
    // Still pending: give the approval a moment to land before the next (clock-paced) poll.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Code entry and confirmation, up to Gatehouse's sign-in page. */
export async function deviceToSignIn(page: Page, auth: DeviceAuthorization): Promise<void> {
  await page.goto(auth.verification_uri);
  await page.getByLabel('Code').fill(auth.user_code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

/** Clients registered at the upstream for the Gatehouse instances of these tests. */
export function upstreamClients(ghBase: string, soloBase: string, jwk: object) {
  return [
    { client_id: 'gatehouse', client_secret: CORP_SECRET, redirect_uris: [`${ghBase}/upstream/corp/callback`, `${ghBase}/upstream/late/callback`, `${soloBase}/upstream/corp/callback`], grant_types: ['authorization_code'], response_types: ['code'] },
    { client_id: 'gatehouse-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, redirect_uris: [`${ghBase}/upstream/partner/callback`], grant_types: ['authorization_code'], response_types: ['code'] },
    { client_id: 'gatehouse-liar', client_secret: LIAR_SECRET, redirect_uris: [`${ghBase}/upstream/liar/callback`, `${ghBase}/upstream/wrong/callback`], grant_types: ['authorization_code'], response_types: ['code'] },
  ];
}

/**
 * A real upstream (bare oidc-provider with its own login page), a lying issuer, and a Gatehouse
 * with five connectors: corp (client secret from env, domain and group policy, POSIX claims),
 * partner (private_key_jwt), liar and wrong (issuer mismatches), late (nothing listening yet).
 */
export interface SsoWorld {
  upstream: Upstream;
  liar: Awaited<ReturnType<typeof startIssuerLiar>>;
  gh: TestServer;
  browser: Browser;
  dir: string;
  ghUrl: string;
  latePort: number;
  soloPort: number;
  jwk: object;
  /** Device flow through a connector up to the point Gatehouse has the upstream's answer. */
  deviceViaUpstream(login: string, label?: string, shots?: string): Promise<{ auth: DeviceAuthorization; context: Awaited<ReturnType<Browser['newContext']>>; page: Page }>;
  stop(): Promise<void>;
}

export async function startSsoWorld(): Promise<SsoWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-upstream-'));
  const ghPort = await freePort();
  const soloPort = await freePort();
  const latePort = await freePort();
  const ghUrl = `http://127.0.0.1:${ghPort}`;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'partner-1', use: 'sig', alg: 'ES256' };
  writeFileSync(join(dir, 'partner.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(join(dir, 'liar.secret'), `${LIAR_SECRET}\n`);
  const upstream = await startUpstream(upstreamClients(ghUrl, `http://127.0.0.1:${soloPort}`, jwk) as never);
  upstream.users.set('alice', { email: 'alice@example.com', email_verified: true, name: 'Alice Upstream', preferred_username: 'alice', groups: ['engineering', 'oncall'], uid_number: 2001, gid_number: 200 });
  upstream.users.set('mallory', { email: 'mallory@example.com', email_verified: true, name: 'Mallory', preferred_username: 'mallory', groups: ['sales'] });
  upstream.users.set('eve', { email: 'eve@elsewhere.test', email_verified: true, name: 'Eve', preferred_username: 'eve', groups: ['engineering'] });
  const liar = await startIssuerLiar(upstream);
  const common = { clientId: 'gatehouse', clientSecret: { env: 'CORP_SECRET' }, scopes: ['openid', 'profile', 'email', 'groups', 'posix'] };
  writeFileSync(join(dir, 'connectors.json'), JSON.stringify([
    {
      id: 'corp', label: 'Corp SSO', issuer: upstream.issuer, ...common,
      claims: { uidNumber: 'uid_number', gidNumber: 'gid_number' },
      allowedEmailDomains: ['example.com'], requiredGroups: ['engineering', 'oncall'],
    },
    { id: 'partner', label: 'Partner SSO', issuer: upstream.issuer, clientId: 'gatehouse-pkjwt', privateKeyJwt: { file: join(dir, 'partner.pem'), kid: 'partner-1' }, scopes: ['openid', 'email', 'groups'] },
    { id: 'liar', label: 'Liar SSO', issuer: liar.url, clientId: 'gatehouse-liar', clientSecret: { file: join(dir, 'liar.secret') } },
    { id: 'wrong', label: 'Wrong SSO', issuer: `${liar.url}/wrong`, clientId: 'gatehouse-liar', clientSecret: { file: join(dir, 'liar.secret') } },
    { id: 'late', label: 'Late SSO', issuer: `http://127.0.0.1:${latePort}`, ...common },
  ]));
  writeFileSync(join(dir, 'clients.json'), JSON.stringify([...CLIENTS, NATIVE]));
  // Two of the upstreams are down or lying at start: Gatehouse starts anyway.
  const gh = await startTestServer({
    GATEHOUSE_PORT: String(ghPort),
    GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'),
    GATEHOUSE_CONNECTORS_FILE: join(dir, 'connectors.json'),
    GATEHOUSE_DEVICE_POLL_INTERVAL: '1s',
    CORP_SECRET,
  });
  const browser = await launchBrowser();
  return {
    upstream, liar, gh, browser, dir, ghUrl, latePort, soloPort, jwk,
    async deviceViaUpstream(login, label = 'Corp SSO', shots) {
      const auth = await requestDeviceCode(gh);
      const context = await browser.newContext();
      const page = await context.newPage();
      await deviceToSignIn(page, auth);
      if (shots) await screenshot(page, shots, '01-sign-in-choices');
      await page.getByRole('button', { name: `Continue with ${label}` }).click();
      await upstreamSignIn(page, login);
      return { auth, context, page };
    },
    async stop() {
      await browser.close();
      await gh.stop();
      await liar.stop();
      await upstream.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A code flow of the native test client, opened in a fresh browser context with the loopback redirect caught in the browser. */
export interface BrowserCodeFlow {
  config: oidc.Configuration;
  context: BrowserContext;
  page: Page;
  /** The URL the browser was sent back to, once it was. */
  callback(): string | undefined;
}

/** Starts an authorization code flow for `cli-native` at `issuer` with the given request parameters (PKCE, state, nonce, scope). */
export async function openCodeFlow(browser: Browser, issuer: string, params: Record<string, string>): Promise<BrowserCodeFlow> {
  const config = await oidc.discovery(new URL(issuer), 'cli-native', { token_endpoint_auth_method: 'none' }, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const redirect = `http://127.0.0.1:${await freePort()}/callback`;
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirect, ...params });
  const context = await browser.newContext();
  const page = await context.newPage();
  let callback: string | undefined;
  await page.route(`${redirect}**`, (route) => {
    callback = route.request().url();
    return route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the application' });
  });
  await page.goto(url.href);
  return { config, context, page, callback: () => callback };
}
