import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { generateSigningKey } from '../../../src/keys/key_generation.ts';
import { CLIENTS, launchBrowser, requestDeviceCode } from '../../helpers/device.ts';
import { freePort, startTestServer, type TestServer } from '../../helpers/server.ts';
import { type MongoServer, startMongo } from '../../helpers/mongodb.ts';
import { deviceToSignIn, pollUntilDone } from '../../helpers/sso.ts';
import { startUpstream, type Upstream, upstreamSignIn } from '../../helpers/upstream.ts';

const SECRET = 'replica-client-secret-0123456789abcdefghijklmnopq';

/**
 * Two Gatehouse instances on one store (one SQLite file, or one MongoDB database on FerretDB; the
 * same issuer, keys and cookie keys, as replicas behind a load balancer), one upstream that rotates refresh tokens and revokes the grant
 * when a rotated-out one comes back (as Entra ID or Okta do). The same person refreshes on both at
 * once: only one replica may ask the upstream, with the stored (latest) refresh token.
 */
for (const backend of ['sqlite', 'mongodb'] as const) describe(`offboarding re-check across replicas (${backend}) with an upstream that rotates refresh tokens`, () => {
  let mongo: MongoServer | undefined;
  let dir: string;
  let upstream: Upstream;
  let a: TestServer;
  let b: TestServer;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-recheck-replicas-'));
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    upstream = await startUpstream([{ client_id: 'gatehouse', client_secret: SECRET, redirect_uris: [`${issuer}/upstream/corp/callback`], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }], undefined, { rotateRefreshTokens: true });
    upstream.users.set('alice', { email: 'alice@example.com', email_verified: true, preferred_username: 'alice', groups: ['engineering'] });
    writeFileSync(join(dir, 'connectors.json'), JSON.stringify([{ id: 'corp', label: 'Corp SSO', issuer: upstream.issuer, clientId: 'gatehouse', clientSecret: { file: join(dir, 'corp.secret') }, scopes: ['openid', 'offline_access', 'email', 'groups'], allowedEmailDomains: ['example.com'], recheckSeconds: 0 }]));
    writeFileSync(join(dir, 'corp.secret'), `${SECRET}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'clients.json'), JSON.stringify(CLIENTS));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [await generateSigningKey('RS256')] }), { mode: 0o600 });
    const shared = {
      GATEHOUSE_ISSUER: issuer,
      ...(backend === 'sqlite' ? { GATEHOUSE_SQLITE_FILE: join(dir, 'shared.db') } : { MONGODB_URI: (mongo = await startMongo()).uri() }),
      GATEHOUSE_JWKS_FILE: join(dir, 'jwks.json'),
      GATEHOUSE_COOKIE_KEYS: `${randomBytes(32).toString('base64url')},${randomBytes(32).toString('base64url')}`,
      GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'),
      GATEHOUSE_CONNECTORS_FILE: join(dir, 'connectors.json'),
      GATEHOUSE_DEVICE_POLL_INTERVAL: '1s',
    };
    a = await startTestServer({ ...shared, GATEHOUSE_PORT: String(port) });
    b = await startTestServer({ ...shared, GATEHOUSE_PORT: String(await freePort()) });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await a?.stop();
    await b?.stop();
    await upstream?.stop();
    await mongo?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A device login of alice through Corp SSO at replica A: one Gatehouse grant with its refresh token. */
  async function deviceLogin(): Promise<string> {
    const auth = await requestDeviceCode(a);
    const context = await browser.newContext();
    const page = await context.newPage();
    await deviceToSignIn(page, auth);
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await upstreamSignIn(page, 'alice');
    await page.getByRole('heading', { name: /Allow access\?|Device connected/ }).waitFor();
    if (await page.getByRole('button', { name: 'Allow' }).count()) await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await context.close();
    const r = await pollUntilDone(a, auth);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return String(r.body.refresh_token);
  }

  const refresh = async (server: TestServer, refreshToken: string) => {
    const res = await fetch(`http://127.0.0.1:${server.config.port}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'xxctl' }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const events = (event: string) => [...a.logs, ...b.logs].filter((l) => l.event === event).length;

  /**
   * Refreshes on A and B at once, with the upstream's token endpoint held until both replicas are
   * committed: both asking the upstream (two held requests), or one asking and the other waiting
   * for it (one held request and an `account.recheck_wait` line). Then lets the upstream answer.
   */
  async function concurrently(tokenA: string, tokenB: string) {
    const gate = upstream.holdTokenRequests();
    const waitsBefore = events('account.recheck_wait');
    const answers = Promise.all([refresh(a, tokenA), refresh(b, tokenB)]);
    const deadline = Date.now() + 60_000;
    while (!(gate.held() >= 2 || (gate.held() === 1 && events('account.recheck_wait') > waitsBefore))) {
      if (Date.now() > deadline) {
        gate.release();
        throw new Error(`the two refreshes never both reached the re-check (held ${gate.held()})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const held = gate.held();
    gate.release();
    return { held, answers: await answers };
  }

  test('the same person refreshing on two replicas at once: one upstream question with the latest token, both refreshes succeed, and later ones too', async () => {
    const first = await deviceLogin();
    const second = await deviceLogin();
    const asked = events('account.recheck');
    const { held, answers } = await concurrently(first, second);
    for (const r of answers) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(held, 1, 'one replica asked the upstream; the other waited for its verdict');
    assert.equal(events('account.recheck') - asked, 1, 'one question for both refreshes');
    assert.equal(events('account.source_refused'), 0);

    // The rotated upstream token was kept: each replica asks again, in turn, and is answered yes.
    const nextB = await refresh(b, String(answers[1].body.refresh_token));
    assert.equal(nextB.status, 200, JSON.stringify(nextB.body));
    const nextA = await refresh(a, String(answers[0].body.refresh_token));
    assert.equal(nextA.status, 200, JSON.stringify(nextA.body));
    assert.equal(events('account.recheck') - asked, 3);

    // Offboarded at the upstream: both concurrent refreshes are refused, whichever replica asked.
    upstream.users.delete('alice');
    const refused = await concurrently(String(nextA.body.refresh_token), String(nextB.body.refresh_token));
    for (const r of refused.answers) {
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error, 'invalid_grant');
    }
    assert.equal(events('account.source_refused'), 1);
  });
});
