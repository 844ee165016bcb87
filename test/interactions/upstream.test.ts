import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { runCli } from '../helpers/cli.ts';
import { CLIENTS, type DeviceAuthorization, jwtClaims, launchBrowser, pollOnce, requestDeviceCode, screenshot } from '../helpers/device.ts';
import { freePort, startTestServer, type TestServer } from '../helpers/server.ts';
import { startIssuerLiar, startUpstream, type Upstream, upstreamSignIn } from '../helpers/upstream.ts';

const CORP_SECRET = 'corp-client-secret-0123456789abcdefghijklmnop';
const LIAR_SECRET = 'liar-client-secret-0123456789abcdefghijklmnop';
const NATIVE = { client_id: 'cli-native', application_type: 'native', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: ['http://127.0.0.1/callback'] };

/** Polls at the announced interval until the answer is final. */
async function pollUntilDone(server: TestServer, auth: DeviceAuthorization) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, auth.interval * 1000 + 50));
    const r = await pollOnce(server, auth.device_code);
    if (r.body.error !== 'authorization_pending') return r;
    if (Date.now() > deadline) throw new Error('device flow did not finish within 60 s');
  }
}

/** Code entry and confirmation, up to Gatehouse's sign-in page. */
async function deviceToSignIn(page: Page, auth: DeviceAuthorization): Promise<void> {
  await page.goto(auth.verification_uri);
  await page.getByLabel('Code').fill(auth.user_code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

describe('sign-in through upstream OpenID Connect providers', () => {
  let upstream: Upstream;
  let liar: Awaited<ReturnType<typeof startIssuerLiar>>;
  let gh: TestServer;
  let browser: Browser;
  let dir: string;
  let latePort: number;
  let ghUrl: string;
  const upstreamClients = (ghBase: string, soloBase: string, jwk: object) => [
    { client_id: 'gatehouse', client_secret: CORP_SECRET, redirect_uris: [`${ghBase}/upstream/corp/callback`, `${ghBase}/upstream/late/callback`, `${soloBase}/upstream/corp/callback`], grant_types: ['authorization_code'], response_types: ['code'] },
    { client_id: 'gatehouse-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, redirect_uris: [`${ghBase}/upstream/partner/callback`], grant_types: ['authorization_code'], response_types: ['code'] },
    { client_id: 'gatehouse-liar', client_secret: LIAR_SECRET, redirect_uris: [`${ghBase}/upstream/liar/callback`, `${ghBase}/upstream/wrong/callback`], grant_types: ['authorization_code'], response_types: ['code'] },
  ];
  let soloPort: number;
  let jwk: object;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-upstream-'));
    const ghPort = await freePort();
    soloPort = await freePort();
    latePort = await freePort();
    ghUrl = `http://127.0.0.1:${ghPort}`;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'partner-1', use: 'sig', alg: 'ES256' };
    writeFileSync(join(dir, 'partner.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFileSync(join(dir, 'liar.secret'), `${LIAR_SECRET}\n`);
    upstream = await startUpstream(upstreamClients(ghUrl, `http://127.0.0.1:${soloPort}`, jwk) as never);
    upstream.users.set('alice', { email: 'alice@example.com', email_verified: true, name: 'Alice Upstream', preferred_username: 'alice', groups: ['engineering', 'oncall'], uid_number: 2001, gid_number: 200 });
    upstream.users.set('mallory', { email: 'mallory@example.com', email_verified: true, name: 'Mallory', preferred_username: 'mallory', groups: ['sales'] });
    upstream.users.set('eve', { email: 'eve@elsewhere.test', email_verified: true, name: 'Eve', preferred_username: 'eve', groups: ['engineering'] });
    liar = await startIssuerLiar(upstream);
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
    gh = await startTestServer({
      GATEHOUSE_PORT: String(ghPort),
      GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'),
      GATEHOUSE_CONNECTORS_FILE: join(dir, 'connectors.json'),
      GATEHOUSE_DEVICE_POLL_INTERVAL: '1s',
      CORP_SECRET,
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await gh?.stop();
    await liar?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Device flow through a connector up to the point Gatehouse has the upstream's answer. */
  async function deviceViaUpstream(login: string, label = 'Corp SSO', shots?: string) {
    const auth = await requestDeviceCode(gh);
    const context = await browser.newContext();
    const page = await context.newPage();
    await deviceToSignIn(page, auth);
    if (shots) await screenshot(page, shots, '01-sign-in-choices');
    await page.getByRole('button', { name: `Continue with ${label}` }).click();
    await upstreamSignIn(page, login);
    return { auth, context, page };
  }

  test('device flow: code entry, confirm, Continue with Corp SSO, upstream sign-in, consent; tokens carry the upstream email and groups; second sign-in keeps the sub and picks up new groups', async () => {
    const { auth, context, page } = await deviceViaUpstream('alice', 'Corp SSO', 'upstream-device');
    // Both the password form and every connector are offered.
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await screenshot(page, 'upstream-device', '02-consent');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    const r = await pollUntilDone(gh, auth);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const claims = jwtClaims(String(r.body.id_token));
    assert.equal(claims.iss, gh.config.issuer);
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.email_verified, true);
    assert.deepEqual(claims.groups, ['engineering', 'oncall']);
    assert.equal(claims.preferred_username, 'alice');
    assert.equal(claims.name, 'Alice Upstream');
    assert.equal(claims.uid_number, 2001);
    assert.equal(claims.gid_number, 200);
    assert.deepEqual(claims.amr, ['fed']);
    assert.equal(claims.acr, 'urn:gatehouse:upstream');
    assert.notEqual(claims.sub, 'alice', 'the sub is Gatehouse\'s own, not the upstream\'s');
    await context.close();
    assert.ok(gh.logs.some((l) => l.audit === true && l.event === 'signin.success' && l.connector === 'corp' && l.sub === claims.sub && l.created === true));

    // The upstream changes the groups; the next sign-in (a new browser) reuses the account.
    upstream.users.set('alice', { ...upstream.users.get('alice'), groups: ['oncall', 'sre'] });
    const second = await deviceViaUpstream('alice');
    await second.page.getByRole('heading', { name: 'Device connected' }).waitFor();
    const r2 = await pollUntilDone(gh, second.auth);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    const claims2 = jwtClaims(String(r2.body.id_token));
    assert.equal(claims2.sub, claims.sub);
    assert.deepEqual(claims2.groups, ['oncall', 'sre']);
    await second.context.close();

    // The operator sees the account with its connector, and can disable it.
    const env = { GATEHOUSE_DATA_DIR: join(gh.dir, 'data') };
    const list = await runCli(['users', 'list'], { env, cwd: gh.dir });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /corp:alice\s+connector:corp\s+Alice Upstream\s+alice@example\.com\s+oncall,sre/);
    const json = JSON.parse((await runCli(['users', 'list', '--json'], { env, cwd: gh.dir })).stdout) as Array<Record<string, unknown>>;
    const row = json.find((a) => a.id === claims.sub);
    assert.deepEqual(row?.upstream, { connector: 'corp', issuer: upstream.issuer, subject: 'alice', username: 'alice' });
    const disabled = await runCli(['users', 'disable', 'corp:alice'], { env, cwd: gh.dir });
    assert.equal(disabled.status, 0, disabled.stderr);
    const third = await deviceViaUpstream('alice');
    await third.page.getByRole('heading', { name: 'Access refused' }).waitFor();
    assert.match((await third.page.locator('main').textContent()) ?? '', /disabled/);
    await third.context.close();
    // The refresh token of a disabled account stops working too.
    const refresh = await fetch(`${gh.publicUrl}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(r2.body.refresh_token), client_id: 'xxctl' }) });
    assert.equal(((await refresh.json()) as { error?: string }).error, 'invalid_grant');
    await runCli(['users', 'enable', 'corp:alice'], { env, cwd: gh.dir });
    // No password sign-in for an upstream account, whatever is typed.
    assert.equal((await runCli(['users', 'passwd', 'corp:alice', '--password-stdin'], { env, cwd: gh.dir, input: 'some long password\nsome long password\n' })).status !== 0, true);
  });

  test('authorization code + PKCE through a private_key_jwt connector; openid-client at both ends', async () => {
    upstream.users.set('bob', { email: 'bob@example.com', email_verified: true, name: 'Bob', preferred_username: 'bob', groups: ['design'] });
    const config = await oidc.discovery(new URL(gh.config.issuer), 'cli-native', { token_endpoint_auth_method: 'none' }, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const redirect = `http://127.0.0.1:${await freePort()}/callback`;
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirect, scope: 'openid email groups profile', state, nonce, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const context = await browser.newContext();
    const page = await context.newPage();
    let callback: string | undefined;
    await page.route(`${redirect}**`, (route) => {
      callback = route.request().url();
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the application' });
    });
    await page.goto(url.href);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('button', { name: 'Continue with Partner SSO' }).click();
    await upstreamSignIn(page, 'bob');
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('back at the application').waitFor();
    assert.ok(callback);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims();
    assert.equal(claims?.email, 'bob@example.com');
    assert.deepEqual(claims?.groups, ['design']);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims?.sub));
    assert.equal(info.email, 'bob@example.com');
    await context.close();
  });

  test('policy: a user outside the required groups or allowed domains gets a refusal page, and the client gets access_denied', async () => {
    for (const [login, why] of [['mallory', /not in a group allowed/], ['eve', /not in a domain allowed/]] as const) {
      const { auth, context, page } = await deviceViaUpstream(login);
      await page.getByRole('heading', { name: 'Access refused' }).waitFor();
      assert.match((await page.locator('main').textContent()) ?? '', why);
      await screenshot(page, 'upstream-refusals', `${login}-refused`);
      await page.getByRole('link', { name: 'Return to the application' }).click();
      await page.getByRole('heading', { name: 'Access denied' }).waitFor();
      const r = await pollOnce(gh, auth.device_code);
      assert.equal(r.body.error, 'access_denied');
      await context.close();
    }
    assert.ok(gh.logs.some((l) => l.audit === true && l.event === 'signin.failure' && l.reason === 'upstream_group'));
    assert.ok(gh.logs.some((l) => l.audit === true && l.event === 'signin.failure' && l.reason === 'upstream_domain'));
    const list = await runCli(['users', 'list', '--json'], { env: { GATEHOUSE_DATA_DIR: join(gh.dir, 'data') }, cwd: gh.dir });
    assert.doesNotMatch(list.stdout, /mallory|eve@/, 'refused people get no account');

    // The same in the code flow: the application is sent error=access_denied.
    const redirect = `http://127.0.0.1:${await freePort()}/callback`;
    const config = await oidc.discovery(new URL(gh.config.issuer), 'cli-native', { token_endpoint_auth_method: 'none' }, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirect, scope: 'openid', state: 'st', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const context = await browser.newContext();
    const page = await context.newPage();
    let callback: string | undefined;
    await page.route(`${redirect}**`, (route) => {
      callback = route.request().url();
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the application' });
    });
    await page.goto(url.href);
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await upstreamSignIn(page, 'mallory');
    await page.getByRole('heading', { name: 'Access refused' }).waitFor();
    await page.getByRole('link', { name: 'Return to the application' }).click();
    await page.getByText('back at the application').waitFor();
    assert.equal(new URL(callback!).searchParams.get('error'), 'access_denied');
    assert.equal(new URL(callback!).searchParams.get('state'), 'st');
    await context.close();
  });

  test('an upstream that is down at start and at first use: readable page and a log line, then it works once it answers', async () => {
    const auth = await requestDeviceCode(gh);
    const context = await browser.newContext();
    const page = await context.newPage();
    await deviceToSignIn(page, auth);
    await page.getByRole('button', { name: 'Continue with Late SSO' }).click();
    await page.getByRole('heading', { name: 'Sign-in service unavailable' }).waitFor();
    assert.match((await page.locator('main').textContent()) ?? '', /Late SSO is not answering/);
    await screenshot(page, 'upstream-refusals', 'upstream-down');
    assert.ok(gh.logs.some((l) => l.event === 'upstream.unavailable' && l.connector === 'late'));
    const late = await startUpstream(upstreamClients(ghUrl, `http://127.0.0.1:${soloPort}`, jwk) as never, latePort);
    try {
      late.users.set('alice', { email: 'alice@example.com', email_verified: true, preferred_username: 'alice', groups: ['x'] });
      await page.getByRole('link', { name: 'Back to sign-in' }).click();
      await page.getByRole('button', { name: 'Continue with Late SSO' }).click();
      await upstreamSignIn(page, 'alice');
      await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.getByRole('heading', { name: 'Device connected' }).waitFor();
      const r = await pollUntilDone(gh, auth);
      assert.equal(r.status, 200);
      // Same person name, another issuer: a different account (issuer + subject, never the email).
      const list = JSON.parse((await runCli(['users', 'list', '--json'], { env: { GATEHOUSE_DATA_DIR: join(gh.dir, 'data') }, cwd: gh.dir })).stdout) as Array<{ id: string; upstream?: { connector: string } }>;
      const lateAccount = list.find((a) => a.upstream?.connector === 'late');
      assert.equal(jwtClaims(String(r.body.id_token)).sub, lateAccount?.id);
      assert.ok(list.some((a) => a.upstream?.connector === 'corp' && a.id !== lateAccount?.id));
    } finally {
      await context.close();
      await late.stop();
    }
  });

  test('the person cancels at the upstream (it answers error=access_denied): a readable page, and they can choose again', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await deviceToSignIn(page, await requestDeviceCode(gh));
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await page.locator('input[name=login]').waitFor();
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    await page.getByRole('heading', { name: 'Sign-in not completed' }).waitFor();
    const text = (await page.locator('main').textContent()) ?? '';
    assert.match(text, /Corp SSO did not sign you in/);
    assert.match(text, /access_denied/);
    assert.ok(gh.logs.some((l) => l.event === 'upstream.upstream_error' && l.connector === 'corp' && l.upstream_error === 'access_denied'));
    await page.getByRole('link', { name: 'Back to sign-in' }).click();
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).waitFor();
    await context.close();
  });

  test('forged and replayed callbacks are refused: tampered state, reused state, wrong nonce, another issuer', async () => {
    // Watch the callback go by, then play with it.
    const context = await browser.newContext();
    const page = await context.newPage();
    const auth = await requestDeviceCode(gh);
    let callback: URL | undefined;
    page.on('request', (req) => {
      if (req.url().startsWith(`${ghUrl}/upstream/corp/callback`)) callback = new URL(req.url());
    });
    await deviceToSignIn(page, auth);
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await upstreamSignIn(page, 'alice');
    await page.getByRole('heading', { name: /Allow access\?|Device connected/ }).waitFor();
    assert.ok(callback);

    // Used once already: a replay is refused.
    const replay = await page.goto(callback.href);
    assert.equal(replay?.status(), 400);
    await page.getByRole('heading', { name: 'Sign-in response refused' }).waitFor();
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    const res = await page.goto(tampered.href);
    assert.equal(res?.status(), 400);
    await page.getByRole('heading', { name: 'Sign-in response refused' }).waitFor();
    await screenshot(page, 'upstream-refusals', 'tampered-state');
    assert.ok(gh.logs.some((l) => l.event === 'upstream.rejected' && /state/.test(String(l.error))));
    await context.close();

    // The state kept for a sign-in now names another nonce than the one sent: the ID token's nonce does not match.
    const c2 = await browser.newContext();
    const p2 = await c2.newPage();
    await deviceToSignIn(p2, await requestDeviceCode(gh));
    await p2.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await p2.locator('input[name=login]').waitFor();
    for (const { id, payload } of await gh.store.list('UpstreamState', { limit: 1000 })) {
      if (!payload.consumed) await gh.store.upsert('UpstreamState', id, { ...payload, nonce: 'not-the-nonce-sent' }, 300);
    }
    await upstreamSignIn(p2, 'alice');
    await p2.getByRole('heading', { name: 'Sign-in response refused' }).waitFor();
    assert.ok(gh.logs.some((l) => l.event === 'upstream.rejected' && l.connector === 'corp' && /nonce/i.test(String(l.error))));
    await c2.close();

    // Discovery says "I am the liar" but the response and ID token come from the real upstream.
    const c3 = await browser.newContext();
    const p3 = await c3.newPage();
    await deviceToSignIn(p3, await requestDeviceCode(gh));
    await p3.getByRole('button', { name: 'Continue with Liar SSO' }).click();
    await upstreamSignIn(p3, 'alice');
    await p3.getByRole('heading', { name: 'Sign-in response refused' }).waitFor();
    assert.ok(gh.logs.some((l) => l.event === 'upstream.rejected' && l.connector === 'liar' && /iss/.test(String(l.error))));
    // A connector whose issuer's discovery names another issuer is stopped before anyone is sent there.
    await p3.goBack();
    await deviceToSignIn(p3, await requestDeviceCode(gh));
    await p3.getByRole('button', { name: 'Continue with Wrong SSO' }).click();
    await p3.getByRole('heading', { name: 'Sign-in service misconfigured' }).waitFor();
    assert.ok(gh.logs.some((l) => l.event === 'upstream.misconfigured' && l.connector === 'wrong'));
    await c3.close();

    // Secrets never reach the logs.
    for (const secret of [CORP_SECRET, LIAR_SECRET, 'BEGIN PRIVATE KEY']) assert.ok(!gh.logText().includes(secret), 'a secret was logged');
  });

  test('local accounts off and a single connector: sign-in goes straight to the upstream; the password form is refused', async () => {
    writeFileSync(join(dir, 'solo.json'), JSON.stringify([{ id: 'corp', label: 'Corp SSO', issuer: upstream.issuer, clientId: 'gatehouse', clientSecret: { env: 'CORP_SECRET' }, scopes: ['openid', 'email', 'groups'] }]));
    const solo = await startTestServer({
      GATEHOUSE_PORT: String(soloPort),
      GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'),
      GATEHOUSE_CONNECTORS_FILE: join(dir, 'solo.json'),
      GATEHOUSE_LOCAL_ACCOUNTS: 'false',
      GATEHOUSE_DEVICE_POLL_INTERVAL: '1s',
      CORP_SECRET,
    });
    const context = await browser.newContext();
    try {
      const auth = await requestDeviceCode(solo);
      const page = await context.newPage();
      await page.goto(auth.verification_uri_complete);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      // No Gatehouse sign-in page: the upstream's own login.
      await upstreamSignIn(page, 'alice');
      await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.getByRole('heading', { name: 'Device connected' }).waitFor();
      const r = await pollUntilDone(solo, auth);
      assert.equal(jwtClaims(String(r.body.id_token)).email, 'alice@example.com');

      // The password form is not there, and posting to it anyway is refused.
      const auth2 = await requestDeviceCode(solo);
      const p2 = await (await browser.newContext()).newPage();
      await p2.goto(auth2.verification_uri_complete);
      await p2.getByRole('button', { name: 'Continue' }).click();
      await p2.getByRole('heading', { name: 'Confirm this device' }).waitFor();
      await p2.getByRole('button', { name: 'Continue' }).click();
      await p2.locator('input[name=login]').waitFor();
      const path = solo.logs.map((l) => String((l.req as { path?: string } | undefined)?.path ?? '')).reverse().find((u) => /^\/interaction\/[\w-]+$/.test(u));
      assert.ok(path, 'the interaction path is in the request log');
      const posted = await p2.context().request.post(`${solo.publicUrl}${path}/login`, { form: { username: 'alice', password: 'correct horse battery staple' }, maxRedirects: 0 });
      assert.equal(posted.status(), 404);
      assert.match(await posted.text(), /Password sign-in is off/);
      await p2.context().close();
    } finally {
      await context.close();
      await solo.stop();
    }
  });
});
