import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { CLIENTS, jwtClaims, launchBrowser, requestDeviceCode, type DeviceAuthorization } from '../../helpers/device.ts';
import { TokenCache } from '../../../src/client/token_cache.ts';
import { runCli } from '../../helpers/cli.ts';
import { freePort, startTestServer, type TestServer } from '../../helpers/server.ts';
import { deviceToSignIn, pollUntilDone } from '../../helpers/sso.ts';
import { startUpstream, type Upstream, upstreamSignIn } from '../../helpers/upstream.ts';

const SECRET = 'ops-client-secret-0123456789abcdefghijklmnopqrstuv';

/**
 * One upstream and a Gatehouse whose connector reads its client secret from a file and asks for
 * offline_access, re-checking people at every refresh (`recheckSeconds: 0`); plus a second upstream that goes away
 * after discovery.
 */
describe('connectors in operation: a rotated secret file, an upstream gone after discovery, offboarding at refresh', () => {
  let dir: string;
  let upstream: Upstream;
  let gone: Upstream;
  let gh: TestServer;
  let browser: Browser;
  const secretFile = () => join(dir, 'corp.secret');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-connector-ops-'));
    const ghPort = await freePort();
    const ghUrl = `http://127.0.0.1:${ghPort}`;
    const clients = [{ client_id: 'gatehouse', client_secret: SECRET, redirect_uris: [`${ghUrl}/upstream/corp/callback`, `${ghUrl}/upstream/gone/callback`], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }];
    upstream = await startUpstream(clients as never);
    gone = await startUpstream(clients as never);
    for (const u of [upstream, gone]) {
      u.users.set('alice', { email: 'alice@example.com', email_verified: true, preferred_username: 'alice', groups: ['engineering'] });
      u.users.set('bob', { email: 'bob@example.com', email_verified: true, preferred_username: 'bob', groups: ['engineering'] });
    }
    writeFileSync(secretFile(), 'not-the-secret-at-all\n');
    const common = { clientId: 'gatehouse', clientSecret: { file: secretFile() }, scopes: ['openid', 'offline_access', 'email', 'groups'], allowedEmailDomains: ['example.com'], recheckSeconds: 0 };
    writeFileSync(join(dir, 'connectors.json'), JSON.stringify([
      { id: 'corp', label: 'Corp SSO', issuer: upstream.issuer, ...common },
      { id: 'gone', label: 'Gone SSO', issuer: gone.issuer, ...common },
    ]));
    writeFileSync(join(dir, 'clients.json'), JSON.stringify(CLIENTS));
    gh = await startTestServer({
      GATEHOUSE_PORT: String(ghPort),
      GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'),
      GATEHOUSE_CONNECTORS_FILE: join(dir, 'connectors.json'),
      GATEHOUSE_DEVICE_POLL_INTERVAL: '1s',
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
    await upstream?.stop();
    await gone?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signInThrough(label: string, login: string): Promise<{ auth: DeviceAuthorization; page: import('playwright-core').Page; close(): Promise<void> }> {
    const auth = await requestDeviceCode(gh);
    const context = await browser.newContext();
    const page = await context.newPage();
    await deviceToSignIn(page, auth);
    await page.getByRole('button', { name: `Continue with ${label}` }).click();
    if (label === 'Corp SSO') await upstreamSignIn(page, login);
    return { auth, page, close: () => context.close() };
  }

  async function approvedTokens(login: string): Promise<Record<string, unknown>> {
    const s = await signInThrough('Corp SSO', login);
    // Consent is remembered after the first approval.
    await s.page.getByRole('heading', { name: /Allow access\?|Device connected/ }).waitFor();
    if (await s.page.getByRole('button', { name: 'Allow' }).count()) await s.page.getByRole('button', { name: 'Allow' }).click();
    await s.page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await s.close();
    const r = await pollUntilDone(gh, s.auth);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  }

  const refresh = async (refreshToken: string) => {
    const res = await fetch(`${gh.publicUrl}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'xxctl' }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('a wrong client secret in the file: "misconfigured" for the person, invalid_client and the connector in the log; the corrected file applies without a restart', async () => {
    const wrong = await signInThrough('Corp SSO', 'alice');
    await wrong.page.getByRole('heading', { name: 'Sign-in service misconfigured' }).waitFor();
    const text = (await wrong.page.locator('main').textContent()) ?? '';
    assert.match(text, /Sign-in with Corp SSO is not set up correctly on this server\. Tell your administrator\./);
    assert.doesNotMatch(text, /used twice|altered/);
    await wrong.close();
    const line = gh.logs.find((l) => l.event === 'upstream.misconfigured' && l.connector === 'corp');
    assert.ok(line, 'an upstream.misconfigured line for corp');
    assert.match(String(line.error), /invalid_client at the upstream token endpoint/);
    assert.ok(!gh.logText().includes('not-the-secret-at-all'), 'the secret is not logged');

    writeFileSync(secretFile(), `${SECRET}\n`);
    const tokens = await approvedTokens('alice');
    assert.equal(jwtClaims(String(tokens.id_token)).email, 'alice@example.com');
    assert.ok(!gh.logText().includes(SECRET), 'the secret is not logged');
  });

  test('an upstream that went down after discovery: Gatehouse\'s "unavailable" page, not the browser\'s error', async () => {
    const deadline = Date.now() + 30_000;
    while (!gh.logs.some((l) => l.event === 'upstream.discovered' && l.connector === 'gone')) {
      if (Date.now() > deadline) throw new Error('connector gone was never discovered');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await gone.stop();
    const s = await signInThrough('Gone SSO', 'alice');
    await s.page.getByRole('heading', { name: 'Sign-in service unavailable' }).waitFor();
    assert.equal(new URL(s.page.url()).origin, new URL(gh.publicUrl).origin);
    assert.match((await s.page.locator('main').textContent()) ?? '', /Gone SSO is not answering/);
    await s.close();
    assert.ok(gh.logs.some((l) => l.event === 'upstream.unavailable' && l.connector === 'gone'));
  });

  test('a person disabled at the upstream between two refreshes: invalid_grant, the grant revoked, the account\'s tokens stopped; an upstream that is down: 503 by default', async () => {
    const tokens = await approvedTokens('alice');
    const first = await refresh(String(tokens.refresh_token));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.ok(gh.logs.some((l) => l.event === 'account.recheck' && l.verdict === 'active' && l.connector === 'corp'));
    // What is kept for the re-check is sealed, never the upstream's tokens in clear.
    const [kept] = (await gh.store.list('SourceState', { limit: 10 })).filter((r) => r.id === jwtClaims(String(tokens.id_token)).sub);
    assert.match(String(kept?.payload.sealed), /^v1\./);
    assert.doesNotMatch(JSON.stringify(kept?.payload), /refreshToken|accessToken/);

    upstream.users.delete('alice');
    const second = await refresh(String(first.body.refresh_token));
    assert.equal(second.status, 400, JSON.stringify(second.body));
    assert.equal(second.body.error, 'invalid_grant');
    assert.ok(gh.logs.some((l) => l.audit === true && l.event === 'account.source_refused' && l.connector === 'corp' && l.reason === 'upstream_invalid_grant'));
    // The whole grant is gone, and the account's access tokens stop too.
    const me = await fetch(`${gh.publicUrl}/me`, { headers: { authorization: `Bearer ${String(first.body.access_token)}` } });
    assert.equal(me.status, 401);
    assert.equal((await refresh(String(first.body.refresh_token))).body.error, 'invalid_grant');

    // Bob's upstream goes down: his refresh is refused for now (503), not forever.
    const bob = await approvedTokens('bob');
    await upstream.stop();
    const down = await refresh(String(bob.refresh_token));
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.body.error, 'temporarily_unavailable');
    assert.ok(gh.logs.some((l) => l.event === 'account.recheck_unreachable' && l.decision === 'deny'));

    // The reference CLI holding that session (its access token due) says what happened and keeps it,
    // rather than calling the server one that does not "answer like an OpenID Provider".
    const config = join(dir, 'cli-config');
    await new TokenCache(join(config, 'gatehouse')).write({ issuer: gh.config.issuer, client_id: 'xxctl', scope: 'openid offline_access', token_type: 'bearer', access_token: String(bob.access_token), refresh_token: String(bob.refresh_token), expires_at: 1, obtained_at: 1 });
    const token = await runCli(['token'], { env: { XDG_CONFIG_HOME: config, HOME: dir } });
    assert.equal(token.status, 1, token.stderr);
    assert.match(token.stderr, /cannot renew the session right now; it is kept, try again later \(temporarily_unavailable: the sign-in service or directory of this account is not answering/);
    assert.match(token.stderr, /\(ERR_ISSUER_UNAVAILABLE\)$/m);
    const status = await runCli(['status', '--json'], { env: { XDG_CONFIG_HOME: config, HOME: dir } });
    assert.equal((JSON.parse(status.stdout) as Array<{ refresh_token: boolean }>)[0]!.refresh_token, true, 'the session is kept');
  });
});
