import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { runCli } from '../../helpers/cli.ts';
import { launchBrowser } from '../../helpers/device.ts';
import { freePort, startTestServer, type TestServer } from '../../helpers/server.ts';
import { approveDeviceLogin, CLIENTS, introspect, spawnCli, startLoginServer, type CliChild } from '../client/cli_session.ts';

/**
 * The reference CLI when things go wrong: a real Gatehouse restarted during a device login, logout
 * with the server down, a second login, a revoked session, a mistyped issuer; and what it prints.
 */
describe('gatehouse login when things go wrong', () => {
  let dir: string;
  let dataDir: string;
  let port: number;
  let server: TestServer | undefined;
  let browser: Browser;
  let env: Record<string, string>;
  let who: string[];

  const cacheDir = () => join(dir, 'config', 'gatehouse', 'tokens');
  const cachedFiles = () => readdirSync(cacheDir()).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(cacheDir(), f), 'utf8')) as Record<string, unknown>);
  /** The same server again: same port, same SQLite data (keys, clients, alice, device codes). */
  const restart = async () => {
    writeFileSync(join(dir, 'clients.json'), JSON.stringify(CLIENTS));
    server = await startTestServer({ GATEHOUSE_PORT: String(port), GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'), GATEHOUSE_DEVICE_POLL_INTERVAL: '1s' });
  };

  async function approve(login: CliChild): Promise<void> {
    const [, complete] = await login.waitFor(/or open (http\S+user_code=\S+)/);
    await approveDeviceLogin(browser, complete!);
  }

  async function deviceLogin(args: string[] = who): Promise<CliChild> {
    const login = spawnCli(['login', ...args, '--no-open'], env);
    await approve(login);
    assert.equal(await login.exited, 0, login.stderr());
    return login;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-recovery-'));
    dataDir = join(dir, 'data');
    mkdirSync(join(dir, 'config'));
    port = await freePort();
    server = await startLoginServer({ GATEHOUSE_PORT: String(port), GATEHOUSE_DATA_DIR: dataDir });
    browser = await launchBrowser();
    env = { XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
    who = ['--issuer', server.config.issuer, '--client-id', 'team-cli'];
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a server restart during a device login: the CLI keeps polling with backoff and logs in; it says who signed in; no colour codes in a pipe', async () => {
    const login = spawnCli(['login', ...who, '--no-open'], env);
    await login.waitFor(/Waiting for approval/);
    await server!.stop();
    server = undefined;
    await login.waitFor(/The server did not answer \(connection refused\); trying again in \d+ s/);
    await restart();
    await approve(login);
    assert.equal(await login.exited, 0, login.stderr());
    assert.match(login.stderr(), /Logged in as alice <alice@example\.com> to http:\/\/127\.0\.0\.1:\d+ as client team-cli/);
    assert.doesNotMatch(login.stderr(), /\x1b\[/, 'no ANSI escape codes when stderr is not a terminal');
    assert.match(login.stderr(), /[▀▄█]{5}/, 'the QR code is still drawn, in plain characters');
  });

  test('gatehouse status: who, which issuer and client, until when, which scopes', async () => {
    const status = await runCli(['status'], { env });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^${server!.config.issuer.replace(/[.:/]/g, '\\$&')} \\(client team-cli\\)$`, 'm'));
    assert.match(status.stdout, /Logged in as: alice <alice@example\.com> \(sub [\w-]+\)/);
    assert.match(status.stdout, /Scopes: .*\bopenid\b.*\boffline_access\b/);
    assert.match(status.stdout, /Access token: valid until \d{4}-\d\d-\d\dT[\d:.]+Z \(\d+ min left\)/);
    assert.match(status.stdout, /Refresh token: yes/);
    const json = JSON.parse((await runCli(['status', '--json'], { env })).stdout) as Array<Record<string, unknown>>;
    assert.equal(json.length, 1);
    assert.equal((json[0]!.account as { email?: string }).email, 'alice@example.com');
    assert.doesNotMatch(JSON.stringify(json), /access_token|eyJ/, 'no tokens printed');
  });

  test('logging in again revokes the previous grant', async () => {
    const before = cachedFiles()[0]!;
    await deviceLogin();
    const now = cachedFiles();
    assert.equal(now.length, 1);
    assert.notEqual(now[0]!.refresh_token, before.refresh_token);
    assert.equal((await introspect(server!, String(before.refresh_token))).active, false, 'the replaced refresh token was revoked');
    assert.equal((await introspect(server!, String(now[0]!.refresh_token))).active, true);
  });

  test('a revoked session keeps the profile: the hint is the exact command, and `gatehouse login` alone logs in again', async () => {
    const session = cachedFiles()[0]!;
    // Revoked at the server (an administrator, another logout), and the access token due.
    const revoked = await fetch(`${server!.publicUrl}/token/revocation`, { method: 'POST', body: new URLSearchParams({ token: String(session.refresh_token), token_type_hint: 'refresh_token', client_id: 'team-cli' }) });
    assert.equal(revoked.status, 200);
    const file = join(cacheDir(), readdirSync(cacheDir()).find((f) => f.endsWith('.json'))!);
    writeFileSync(file, JSON.stringify({ ...session, expires_at: 1 }));
    const token = await runCli(['token'], { env });
    assert.equal(token.status, 1);
    assert.match(token.stderr, new RegExp(`the session expired or was revoked; run \`gatehouse login --issuer ${server!.config.issuer.replace(/[.:/]/g, '\\$&')} --client-id team-cli\` \\(ERR_SESSION_EXPIRED\\)`));
    assert.deepEqual(cachedFiles().map((f) => [f.issuer, f.client_id, f.access_token]), [[server!.config.issuer, 'team-cli', undefined]]);
    const again = await deviceLogin([]);
    assert.match(again.stderr(), new RegExp(`Logged in as alice <alice@example\\.com> to ${server!.config.issuer.replace(/[.:/]/g, '\\$&')} as client team-cli`));
    assert.equal((await runCli(['token'], { env })).status, 0);
  });

  test('--issuer naming the server differently from its issuer: both URLs named, the right one suggested', async () => {
    const mistaken = `http://localhost:${port}`;
    const out = await runCli(['login', '--issuer', mistaken, '--client-id', 'team-cli', '--no-open'], { env });
    assert.equal(out.status, 2);
    assert.match(out.stderr, new RegExp(`${mistaken} says its issuer is ${server!.config.issuer}: the two must be identical; use --issuer ${server!.config.issuer} \\(ERR_ISSUER_MISMATCH\\)`));
  });

  test('logout with the server down forgets the tokens and says the revocation was not sent; --local sends nothing', async () => {
    const session = cachedFiles()[0]!;
    await server!.stop();
    server = undefined;
    const out = await runCli(['logout'], { env });
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stderr, /Logged out of http:\/\/127\.0\.0\.1:\d+ here \(tokens removed\), but the revocation could not be sent/);
    assert.deepEqual(cachedFiles().map((f) => f.access_token), [undefined]);
    const status = await runCli(['status'], { env });
    assert.equal(status.status, 1);
    assert.match(status.stderr, /not logged in; run `gatehouse login` \(gatehouse login --issuer http:\/\/127\.0\.0\.1:\d+ --client-id team-cli\)/);
    const json = await runCli(['status', '--json'], { env });
    assert.equal(json.status, 1);
    assert.deepEqual(JSON.parse(json.stdout), [], 'scripts still get JSON: no sessions');

    // With the server back, the tokens the failed logout left are still live there; --local never tells it.
    await restart();
    assert.equal((await introspect(server!, String(session.refresh_token))).active, true);
    await deviceLogin([]);
    const fresh = cachedFiles()[0]!;
    const local = await runCli(['logout', '--local'], { env });
    assert.equal(local.status, 0, local.stderr);
    assert.match(local.stderr, /nothing sent to the issuer/);
    assert.equal((await introspect(server!, String(fresh.refresh_token))).active, true);
  });
});
