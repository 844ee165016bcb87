import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { execFile } from 'node:child_process';
import { CLI, cleanEnv, runCli } from '../../helpers/cli.ts';
import { launchBrowser, screenshot } from '../../helpers/device.ts';
import type { TestServer } from '../../helpers/server.ts';
import { approveDeviceLogin, introspect, signInAndAllow, spawnCli, startLoginServer } from './cli_session.ts';

function shell(command: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', command], { env: { ...cleanEnv(), ...env } }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

describe('gatehouse login / token / logout against a running server', () => {
  let server: TestServer & { home: string };
  let browser: Browser;
  let env: Record<string, string>;
  let who: string[];

  before(async () => {
    // The shortest access-token lifetime the server accepts, so the refresh is exercised for real.
    server = await startLoginServer({ GATEHOUSE_ACCESS_TOKEN_TTL: '60s' });
    browser = await launchBrowser();
    env = { XDG_CONFIG_HOME: join(server.home, 'config'), HOME: server.home };
    who = ['--issuer', server.config.issuer, '--client-id', 'team-cli'];
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const cacheDir = () => join(server.home, 'config', 'gatehouse', 'tokens');
  const cached = () => {
    const files = readdirSync(cacheDir()).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 1, `one cached session expected, found ${files.join(', ')}`);
    return { path: join(cacheDir(), files[0]!), session: JSON.parse(readFileSync(join(cacheDir(), files[0]!), 'utf8')) as Record<string, unknown> };
  };

  test('--device: URL, code and QR code on the terminal; approved in chromium; token refreshed after expiry; logout revokes', async () => {
    const login = spawnCli(['login', ...who, '--device', '--no-open', '--scope', 'openid profile offline_access'], env);
    const [, uri, code] = await login.waitFor(/open (http\S+\/device) and enter the code ([A-Z]{4}-[A-Z]{4})/);
    const [, complete] = await login.waitFor(/or open (http\S+user_code=\S+)/);
    await login.waitFor(/Waiting for approval/);
    assert.equal(uri, `${server.config.issuer}/device`);
    assert.ok(complete!.includes(code!), complete);
    assert.match(login.stderr(), /[▀▄█]{10}/, 'a QR code drawn with block characters');

    await approveDeviceLogin(browser, complete!, (page) => screenshot(page, 'login', 'device-connected'));

    assert.equal(await login.exited, 0, login.stderr());
    // Asked for profile but not email: the name alone.
    assert.match(login.stderr(), /Logged in as alice to http:\/\/127\.0\.0\.1:\d+ as client team-cli/);
    const { path, session } = cached();
    assert.ok(login.stderr().includes(path), 'the cache location is printed');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(cacheDir()).mode & 0o777, 0o700);
    assert.equal(statSync(join(cacheDir(), '..')).mode & 0o777, 0o700);
    assert.equal(session.issuer, server.config.issuer);
    assert.equal(typeof session.refresh_token, 'string');

    // `gatehouse token` prints the cached token while it is valid, usable straight from curl.
    const first = await runCli(['token'], { env });
    assert.equal(first.status, 0, first.stderr);
    const token1 = first.stdout.trim();
    assert.equal(token1, session.access_token);
    // Exactly as the README shows it, through a shell and the real curl.
    const me = await shell(`curl -sS -H "Authorization: Bearer $(${process.execPath} ${CLI} token)" ${server.publicUrl}/me`, env);
    assert.equal(JSON.parse(me).preferred_username, 'alice');
    assert.equal((await introspect(server, token1)).active, true);

    // Once the cached token has expired, `gatehouse token` refreshes and saves the rotation.
    const expiresAt = session.expires_at as number;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt * 1000 - Date.now() + 1500)));
    assert.equal((await introspect(server, token1)).active, false, 'the cached token really expired');
    const second = await runCli(['token', ...who], { env });
    assert.equal(second.status, 0, second.stderr);
    const token2 = second.stdout.trim();
    assert.notEqual(token2, token1);
    const after = cached().session;
    assert.equal(after.access_token, token2);
    assert.notEqual(after.refresh_token, session.refresh_token, 'the rotated refresh token is saved');
    const info = await introspect(server, token2);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'team-cli');
    assert.equal((await introspect(server, session.refresh_token as string)).active, false, 'the old refresh token was rotated away');

    // Logout revokes at the server and forgets locally.
    const out = await runCli(['logout'], { env });
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stderr, /Logged out/);
    assert.equal((await introspect(server, token2)).active, false);
    assert.equal((await introspect(server, after.refresh_token as string)).active, false);
    // The tokens are gone; the profile stays so that `gatehouse login` alone logs in again.
    assert.deepEqual(Object.keys(cached().session).sort(), ['client_id', 'issuer', 'scope']);
    const gone = await runCli(['token', ...who], { env });
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /not logged in to .* as team-cli; run `gatehouse login --issuer http:\/\/127\.0\.0\.1:\d+ --client-id team-cli` \(ERR_NOT_LOGGED_IN\)/);
  });

  test('--browser: authorization code + PKCE on a random 127.0.0.1 port, state checked, completed in chromium', async () => {
    const login = spawnCli(['login', ...who, '--browser', '--no-open'], env);
    const [, url] = await login.waitFor(/^ {2}(http\S+\/auth\?\S+)$/m);
    const auth = new URL(url!);
    assert.equal(auth.searchParams.get('client_id'), 'team-cli');
    assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
    assert.match(auth.searchParams.get('code_challenge') ?? '', /^[\w-]{43}$/);
    assert.equal(auth.searchParams.get('scope'), 'openid profile email offline_access');
    const state = auth.searchParams.get('state') ?? '';
    assert.ok(state.length >= 32);
    const redirect = new URL(auth.searchParams.get('redirect_uri') ?? '');
    assert.equal(redirect.hostname, '127.0.0.1');
    assert.notEqual(redirect.port, '');

    // A forged response (wrong state) is refused and does not end the login.
    const forged = await fetch(`${redirect.href}?code=forged&state=not-the-state`);
    assert.equal(forged.status, 400);
    assert.equal((await fetch(`${redirect.origin}/elsewhere`)).status, 404);

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url!);
    await signInAndAllow(page);
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    await screenshot(page, 'login', 'browser-signed-in');
    await context.close();

    assert.equal(await login.exited, 0, login.stderr());
    const { session } = cached();
    assert.equal(typeof session.id_token, 'string');
    const token = await runCli(['token', ...who], { env });
    assert.equal(token.status, 0, token.stderr);
    assert.equal((await introspect(server, token.stdout.trim())).active, true);
    const out = await runCli(['logout', ...who], { env });
    assert.equal(out.status, 0, out.stderr);
    assert.equal((await introspect(server, token.stdout.trim())).active, false);
  });

  test('a denied device login exits 1 with the reason', async () => {
    const login = spawnCli(['login', ...who, '--no-open'], env);
    const [, complete] = await login.waitFor(/or open (http\S+user_code=\S+)/);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(complete!);
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    await page.getByRole('button', { name: /Cancel|Deny|No/ }).first().click();
    await context.close();
    assert.equal(await login.exited, 1);
    assert.match(login.stderr(), /the sign-in was denied.*\(ERR_LOGIN_DENIED\)/);
  });

  test('usage mistakes exit 2, an unreachable issuer exits 1, with readable messages', async () => {
    const missing = await runCli(['login', '--issuer', server.config.issuer], { env });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /login needs --issuer and --client-id/);
    const both = await runCli(['login', ...who, '--device', '--browser'], { env });
    assert.equal(both.status, 2);
    const plain = await runCli(['login', '--issuer', 'http://auth.example.com', '--client-id', 'x'], { env });
    assert.equal(plain.status, 2);
    assert.match(plain.stderr, /--issuer must be an https URL/);
    const down = await runCli(['login', '--issuer', 'http://127.0.0.1:9', '--client-id', 'x', '--no-open'], { env });
    assert.equal(down.status, 1);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:9.*\(ERR_ISSUER_UNREACHABLE\)/);
    assert.doesNotMatch(down.stderr, /\n\s+at /, 'no stack trace');
    const unknown = await runCli(['login', '--issuer', server.config.issuer, '--client-id', 'nobody', '--no-open'], { env });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /ERR_CLIENT_REJECTED/);
  });
});

test('src/client is a layer of its own: it imports only node:, openid-client and its own files', () => {
  const dir = join(import.meta.dirname, '..', '..', '..', 'src', 'client');
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const [, spec] of text.matchAll(/from '([^']+)'/g)) {
      assert.ok(spec!.startsWith('node:') || spec === 'openid-client' || /^\.\/[\w]+\.ts$/.test(spec!), `${file} imports ${spec}`);
    }
  }
});
