import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { Accounts } from '../../../src/accounts/account.ts';
import { hidden } from '../../helpers/browserless.ts';
import { jwtClaims, launchBrowser, requestDeviceCode, screenshot } from '../../helpers/device.ts';
import { startTestServer } from '../../helpers/server.ts';
import { deviceToSignIn, openCodeFlow, pollUntilDone } from '../../helpers/sso.ts';
import { LOCAL_PASSWORD, type LdapWorld, openSignIn, startLdapWorld, submitDirectory, tokensFor } from './world.ts';

describe('sign-in with the company directory (LDAP) against a real slapd', () => {
  let w: LdapWorld;
  let browser: Browser;

  before(async () => {
    // Low per-account limit so the throttle test is short; the per-IP limit stays out of the way.
    w = await startLdapWorld({ GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT: '4', GATEHOUSE_LOGIN_FAILURES_PER_IP: '1000' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await w?.stop();
  });

  test('device flow in Chromium: Continue with Corp directory, password, done (the confirmation was the consent); tokens carry the mapped attributes and groups', async () => {
    const auth = await requestDeviceCode(w.gh);
    const context = await browser.newContext();
    const page = await context.newPage();
    await deviceToSignIn(page, auth);
    await screenshot(page, 'ldap-device', '01-sign-in-choices');
    await page.getByRole('link', { name: 'Continue with Corp directory' }).click();
    await page.getByText('with your Corp directory account').waitFor();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(w.directory.passwords.alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await context.close();
    const r = await pollUntilDone(w.gh, auth);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const claims = jwtClaims(String(r.body.id_token));
    assert.equal(claims.preferred_username, 'alice');
    assert.equal(claims.name, 'Alice Directory');
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.email_verified, true);
    assert.deepEqual(claims.groups, ['engineering']);
    assert.equal(claims.uid_number, 3001);
    assert.equal(claims.gid_number, 300);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.ok(w.gh.logs.some((l) => l.audit === true && l.event === 'signin.success' && l.connector === 'corp' && l.sub === claims.sub && l.created === true));
  });

  test('code + PKCE in Chromium: the same person again maps to the same account', async () => {
    const p = { verifier: oidc.randomPKCECodeVerifier() };
    const flow = await openCodeFlow(browser, w.gh.config.issuer, { scope: 'openid profile email groups posix', code_challenge: await oidc.calculatePKCECodeChallenge(p.verifier), code_challenge_method: 'S256', state: oidc.randomState() });
    const { page, context } = flow;
    await page.getByRole('link', { name: 'Continue with Corp directory' }).click();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(w.directory.passwords.alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('back at the application').waitFor();
    await context.close();
    const callback = new URL(flow.callback()!);
    const state = callback.searchParams.get('state')!;
    const tokens = await oidc.authorizationCodeGrant(flow.config, callback, { pkceCodeVerifier: p.verifier, expectedState: state }, undefined, { execute: [oidc.allowInsecureRequests] } as never);
    const claims = tokens.claims()!;
    assert.equal(claims.preferred_username, 'alice');
    assert.deepEqual(claims.groups, ['engineering']);
    assert.equal(claims.uid_number, 3001);
    const directoryAccounts = (await new Accounts(w.gh.store).list()).filter((a) => a.upstream?.connector === 'corp');
    assert.equal(directoryAccounts.length, 1, 'one account for alice, however many sign-ins');
    assert.equal(directoryAccounts[0]!.id, claims.sub);
    assert.equal(directoryAccounts[0]!.upstream?.issuer, 'ldap:corp');
    assert.match(directoryAccounts[0]!.upstream!.subject, /^[0-9a-f-]{36}$/, 'keyed by entryUUID');
  });

  test('StartTLS connector with `member` groups (the user\'s DN in a filter): another account, its own groups', async () => {
    const tokens = await tokensFor(w.gh, 'staff', 'alice', w.directory.passwords.alice);
    const claims = jwtClaims(String(tokens.id_token));
    assert.deepEqual(claims.groups, ['oncall']);
    assert.equal(claims.preferred_username, 'alice');
    const corp = (await new Accounts(w.gh.store).list()).find((a) => a.upstream?.connector === 'corp');
    assert.notEqual(claims.sub, corp?.id, 'accounts are per connector');
    const bob = await submitDirectory(await openSignIn(w.gh), 'staff', 'bob', w.directory.passwords.bob);
    assert.equal(bob.res.status, 303, bob.text.slice(0, 400));
  });

  test('`memberOf` groups (the user\'s own attribute, as in Active Directory): read from the person\'s entry, the cn of each group DN', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ldap-memberof-'));
    const connectors = JSON.parse(readFileSync(w.gh.config.connectorsFile!, 'utf8')) as Array<Record<string, unknown>>;
    const staff = connectors.find((c) => c.id === 'staff')!;
    writeFileSync(join(dir, 'connectors.json'), JSON.stringify([{ ...staff, id: 'roles', label: 'Roles directory', groupSearch: { style: 'memberOf' }, requiredGroups: ['oncall'] }]));
    const roles = await startTestServer({ GATEHOUSE_CONNECTORS_FILE: join(dir, 'connectors.json'), GATEHOUSE_CLIENTS_FILE: w.gh.config.clientsFile! });
    try {
      // slapd gives alice memberOf: cn=oncall,ou=roles,… (the groupOfNames that lists her DN).
      const claims = jwtClaims(String((await tokensFor(roles, 'roles', 'alice', w.directory.passwords.alice)).id_token));
      assert.deepEqual(claims.groups, ['oncall']);
      // bob is in no groupOfNames: no memberOf, so the required group refuses him.
      const bob = await submitDirectory(await openSignIn(roles), 'roles', 'bob', w.directory.passwords.bob);
      assert.equal(bob.res.status, 403, bob.text.slice(0, 400));
      assert.match(bob.text, /Access refused/);
    } finally {
      await roles.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('wrong password, empty password, unknown user and filter metacharacters all get "Incorrect username or password"', async () => {
    const alice = w.directory.passwords.alice;
    // With alice's real password: an unescaped filter would match her entry and sign her in.
    const attempts: Array<[string, string]> = [
      ['alice', 'not her password'],
      ['alice', ''],
      ['nobody', alice],
      ['*', alice],
      ['al*', alice],
      ['admin)(|(uid=*', alice],
      ['alice)(uid=*', alice],
      ['alice\u0000', alice],
      ['alice\\', alice],
    ];
    for (const [username, password] of attempts) {
      const s = await openSignIn(w.gh);
      const r = await submitDirectory(s, 'staff', username, password);
      assert.equal(r.res.status, 401, `${JSON.stringify(username)}: ${r.res.status}`);
      assert.match(r.text, /Incorrect username or password\./);
    }
    // Passwords never reach the logs; the typed usernames are not logged either.
    assert.doesNotMatch(w.gh.logText(), new RegExp(alice));
    assert.doesNotMatch(w.gh.logText(), /admin\)\(\|/);
    assert.ok(!w.gh.logText().includes(readFileSync(w.directory.servicePasswordFile, 'utf8').trim()), 'the service password is never logged');
  });

  test('a directory user outside the allowed group gets the "Access refused" page and no account', async () => {
    const s = await openSignIn(w.gh);
    const r = await submitDirectory(s, 'corp', 'bob', w.directory.passwords.bob);
    assert.equal(r.res.status, 403);
    assert.match(r.text, /Access refused/);
    assert.match(r.text, /not in a group allowed/);
    const returnTo = /href="([^"]+)" autofocus/.exec(r.text)![1]!.replace(/&amp;/g, '&');
    const back = await s.client.request(returnTo);
    const location = new URL(back.res.headers.get('location')!, w.gh.publicUrl);
    assert.equal(location.searchParams.get('error'), 'access_denied');
    const accounts = await new Accounts(w.gh.store).list();
    assert.ok(!accounts.some((a) => a.upstream?.connector === 'corp' && a.upstream.username === 'bob'));
    assert.ok(w.gh.logs.some((l) => l.audit === true && l.event === 'signin.failure' && l.reason === 'ldap_group'));
  });

  test('failed directory sign-ins are throttled like local ones (429 with Retry-After, even with the right password)', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await submitDirectory(await openSignIn(w.gh), 'staff', 'carol', `wrong-${i}`);
      assert.ok([401, 429].includes(r.res.status));
    }
    const r = await submitDirectory(await openSignIn(w.gh), 'staff', 'carol', w.directory.passwords.carol);
    assert.equal(r.res.status, 429);
    assert.ok(Number(r.res.headers.get('retry-after')) > 0);
  });

  test('the directory down: the sign-in page says so, local accounts and the other directory still work', async () => {
    const s = await openSignIn(w.gh);
    const r = await submitDirectory(s, 'down', 'alice', w.directory.passwords.alice);
    assert.equal(r.res.status, 503);
    assert.match(r.text, /Old directory is not answering right now/);
    assert.match(r.text, /Other ways to sign in/);
    assert.ok(w.gh.logs.some((l) => l.event === 'ldap.unavailable' && l.connector === 'down'));
    // The same sign-in continues with a local account.
    const choices = await s.client.request(s.interaction);
    const local = await s.client.request(`${s.interaction}/login`, { form: { csrf: hidden(choices.text, 'csrf'), username: 'localuser', password: LOCAL_PASSWORD } });
    assert.equal(local.res.status, 303, local.text.slice(0, 300));
    const other = await submitDirectory(await openSignIn(w.gh), 'corp', 'alice', w.directory.passwords.alice);
    assert.equal(other.res.status, 303);
  });

  test('in Chromium, the page of a directory that is down says so', async () => {
    const flow = await openCodeFlow(browser, w.gh.config.issuer, { scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    await flow.page.getByRole('link', { name: 'Continue with Old directory' }).click();
    await flow.page.getByLabel('Username').fill('alice');
    await flow.page.getByLabel('Password').fill('whatever it is');
    await flow.page.getByRole('button', { name: 'Sign in' }).click();
    await flow.page.getByText('Old directory is not answering right now').waitFor();
    await screenshot(flow.page, 'ldap-device', '02-directory-down');
    await flow.context.close();
  });

  test('bad input to the directory routes: readable pages, never a 500', async () => {
    const s = await openSignIn(w.gh);
    const unknown = await s.client.request(`${s.interaction}/ldap/nope`);
    assert.equal(unknown.res.status, 404);
    assert.match(unknown.text, /Unknown sign-in option/);
    const expired = await s.client.request('/interaction/not-a-real-uid/ldap/corp');
    assert.equal(expired.res.status, 400);
    assert.match(expired.text, /Sign-in expired/);
    const noCsrf = await s.client.request(`${s.interaction}/ldap/corp`, { form: { username: 'alice', password: w.directory.passwords.alice } });
    assert.equal(noCsrf.res.status, 403);
    const form = await s.client.request(`${s.interaction}/ldap/corp`);
    const csrf = hidden(form.text, 'csrf');
    const huge = await s.client.request(`${s.interaction}/ldap/corp`, { form: { csrf, username: 'a'.repeat(3000), password: 'p'.repeat(3000) } });
    assert.equal(huge.res.status, 401);
    const missing = await s.client.request(`${s.interaction}/ldap/corp`, { form: { csrf } });
    assert.equal(missing.res.status, 401);
    const odd = await s.client.request(`${s.interaction}/ldap/corp`, { form: { csrf, username: '\u202eecila', password: '\ud800' } });
    assert.equal(odd.res.status, 401);
    const json = await fetch(`${w.gh.publicUrl}${s.interaction}/ldap/corp`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: [...s.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }, body: '{"username":"alice"' });
    assert.ok(json.status < 500, String(json.status));
    assert.ok(!w.gh.logs.some((l) => l.msg === 'unhandled error'));
  });

  test('with local accounts off and one directory, the sign-in page is that directory\'s form', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ldap-solo-'));
    const connectors = JSON.parse(readFileSync(w.gh.config.connectorsFile!, 'utf8')) as Array<Record<string, unknown>>;
    writeFileSync(join(dir, 'connectors.json'), JSON.stringify(connectors.filter((c) => c.id === 'staff')));
    const solo = await startTestServer({ GATEHOUSE_CONNECTORS_FILE: join(dir, 'connectors.json'), GATEHOUSE_CLIENTS_FILE: w.gh.config.clientsFile!, GATEHOUSE_LOCAL_ACCOUNTS: 'false' });
    try {
      const s = await openSignIn(solo);
      assert.match(s.page, new RegExp(`action="${s.interaction}/ldap/staff"`));
      assert.match(s.page, /with your <strong>Staff directory<\/strong> account/);
      assert.doesNotMatch(s.page, /\/login"/);
      const r = await s.client.request(`${s.interaction}/ldap/staff`, { form: { csrf: hidden(s.page, 'csrf'), username: 'alice', password: w.directory.passwords.alice } });
      assert.equal(r.res.status, 303, r.text.slice(0, 300));
      const wrong = await openSignIn(solo);
      const bad = await wrong.client.request(`${wrong.interaction}/ldap/staff`, { form: { csrf: hidden(wrong.page, 'csrf'), username: 'alice', password: 'nope' } });
      assert.equal(bad.res.status, 401);
      assert.doesNotMatch(bad.text, /Other ways to sign in/);
    } finally {
      await solo.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
