import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CookieClient, hidden } from '../../helpers/browserless.ts';
import { runCli, startServe, type CliResult, type ServeProcess } from '../../helpers/cli.ts';
import { DEVICE_GRANT } from '../../helpers/device.ts';
import { freePort, type TestServer } from '../../helpers/server.ts';
import { clientsFile, curl, tlsClient } from '../../helpers/mtls_curl.ts';
import { hashRegistrationToken } from '../../../src/storage/registration_tokens.ts';

// A "full run" against one `gatehouse serve` process and the operator CLI sharing its data dir:
// client_credentials with client_secret_basic and over mutual TLS, dynamic registration with an
// initial access token from the CLI, an RFC 7592 update, a revocation, a key rotation, and a
// device flow (a user added with the CLI, one wrong password, sign-in, consent, polling, a
// refresh). Then
// the audit trail is checked event by event and every log line is grepped for every secret used.

const BASIC_SECRET = 'full-run-basic-secret-6c2f8e0a9d41';
const METRICS_TOKEN = 'full-run-metrics-token-1f7b3e9c5a';
const COOKIE_KEY = 'full-run-cookie-key-0123456789abcdef0123456789';
const PASSWORD = 'full-run-password-correct-horse';
const WRONG_PASSWORD = 'full-run-password-typo-battery';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let dir: string;
let server: ServeProcess;
let base: string;
let env: Record<string, string>;
/** Everything that must never appear in a log line. */
const secrets = new Map<string, string>();
/** stderr of every CLI run (a CLI writes its audit events there). */
const cliLogs: string[] = [];
const state: { registeredId?: string; registrationTokenId?: string; rotatedKids?: string[]; accountId?: string; exitCode?: number | null } = {};

function keep(name: string, value: unknown, minLength = 16): string {
  assert.equal(typeof value, 'string', `${name} missing`);
  assert.ok((value as string).length >= minLength, `${name} too short to grep for`);
  secrets.set(name, value as string);
  return value as string;
}

async function cli(args: string[], input?: string): Promise<CliResult> {
  const r = await runCli(args, { env, input });
  cliLogs.push(r.stderr);
  assert.equal(r.status, 0, `gatehouse ${args.join(' ')}: ${r.stderr}`);
  return r;
}

async function clientCredentials(clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${base}/token`, { method: 'POST', headers: { ...FORM, authorization: keep(`basic header of ${clientId}`, basic(clientId, secret)) }, body: 'grant_type=client_credentials' });
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200, JSON.stringify(body));
  return keep(`access token of ${clientId}`, body.access_token);
}

/** Private key material of a PEM file: the base64 body, whole and line by line. */
function keepPem(name: string, path: string): void {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
  keep(`${name} (whole)`, lines.join(''));
  lines.filter((l) => l.length >= 16).forEach((l, i) => keep(`${name} line ${i}`, l));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-fullrun-'));
  const certs = join(dir, 'certs');
  const port = await freePort();
  const adminPort = await freePort();
  env = {
    GATEHOUSE_ADMIN_PORT: String(adminPort),
    GATEHOUSE_DATA_DIR: join(dir, 'data'),
    GATEHOUSE_CERTS_DIR: certs,
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
    GATEHOUSE_REGISTRATION: 'token',
    GATEHOUSE_METRICS_TOKEN: keep('metrics token', METRICS_TOKEN),
    GATEHOUSE_COOKIE_KEYS: keep('cookie key', COOKIE_KEY),
    GATEHOUSE_LOG_LEVEL: 'debug',
    GATEHOUSE_CLIENTS_FILE: clientsFile([
      { client_id: 'svc-basic', client_secret: keep('static client secret', BASIC_SECRET), token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      tlsClient('svc-mtls', { tls_client_auth_san_dns: 'svc-mtls.internal' }),
      { client_id: 'fullrun-cli', client_name: 'Full run CLI', token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT, 'refresh_token'], response_types: [], redirect_uris: [] },
    ]),
  };
  await cli(['certs', 'init']);
  await cli(['certs', 'issue', 'svc-mtls', '--san-dns', 'svc-mtls.internal', '--out', dir]);
  keepPem('client private key', join(dir, 'svc-mtls.key'));
  keepPem('CA private key', join(certs, 'root_ca.key'));
  keepPem('server private key', join(certs, 'server.key'));

  server = startServe(env);
  const listening = await server.waitForLog((l) => l.event === 'listening');
  base = String(listening.url);
  const mtlsUrl = String(listening.mtlsUrl);

  // client_credentials: client_secret_basic, then tls_client_auth with the real curl.
  await clientCredentials('svc-basic', BASIC_SECRET);
  const mtls = await curl(`${mtlsUrl}/token`, { cacert: join(certs, 'root_ca.crt'), cert: join(dir, 'svc-mtls.crt'), key: join(dir, 'svc-mtls.key'), data: 'client_id=svc-mtls&grant_type=client_credentials' });
  assert.equal(mtls.status, 200, mtls.raw);
  keep('mTLS access token', mtls.body.access_token);

  // Registration with an initial access token from the CLI.
  const created = await cli(['registration-token', 'create', '--uses', '1', '--ttl', '10m']);
  const initialAccessToken = keep('initial access token', created.stdout.trim());
  state.registrationTokenId = hashRegistrationToken(initialAccessToken);
  const metadata = { client_name: 'Full run', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' };
  const reg = await fetch(`${base}/reg`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${initialAccessToken}` }, body: JSON.stringify(metadata) });
  const registered = (await reg.json()) as Record<string, unknown>;
  assert.equal(reg.status, 201, JSON.stringify(registered));
  const clientId = String(registered.client_id);
  state.registeredId = clientId;
  const clientSecret = keep('registered client secret', registered.client_secret);
  const rat1 = keep('registration access token', registered.registration_access_token);
  const accessToken = await clientCredentials(clientId, clientSecret);

  // RFC 7592 update: the whole metadata again, with the secret; the registration access token rotates.
  const put = await fetch(String(registered.registration_client_uri), {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${rat1}` },
    body: JSON.stringify({ ...metadata, client_id: clientId, client_secret: clientSecret, client_name: 'Full run, renamed' }),
  });
  const updated = (await put.json()) as Record<string, unknown>;
  assert.equal(put.status, 200, JSON.stringify(updated));
  assert.equal(updated.client_name, 'Full run, renamed');
  keep('rotated registration access token', updated.registration_access_token);
  assert.notEqual(updated.registration_access_token, rat1);

  // RFC 7009 revocation.
  const revoked = await fetch(`${base}/token/revocation`, { method: 'POST', headers: { ...FORM, authorization: basic(clientId, clientSecret) }, body: `token=${accessToken}&token_type_hint=access_token` });
  assert.equal(revoked.status, 200);

  // Key rotation with the CLI; the running server reloads the keys file.
  await cli(['keys', 'rotate', '--activate-in', '0']);
  const rotated = await server.waitForLog((l) => l.event === 'keys.rotated' && Array.isArray(l.added) && l.added.length === 2);
  state.rotatedKids = rotated.added as string[];
  const jwks = JSON.parse(readFileSync(join(dir, 'data', 'jwks.json'), 'utf8')) as { keys: Array<Record<string, unknown>> };
  for (const key of jwks.keys) for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi']) if (typeof key[part] === 'string') keep(`signing key ${key.kid} ${part}`, key[part]);
  await clientCredentials('svc-basic', BASIC_SECRET);

  // Device flow: a public CLI client, a person added with the CLI signing in (once wrongly) and consenting.
  await cli(['users', 'add', 'alice', '--email', 'alice@example.com', '--password-stdin'], `${keep('password', PASSWORD)}\n`);
  keep('wrong password', WRONG_PASSWORD);
  const deviceAuth = await fetch(`${base}/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: 'fullrun-cli', scope: 'openid email offline_access' }) });
  const device = (await deviceAuth.json()) as Record<string, string>;
  assert.equal(deviceAuth.status, 200, JSON.stringify(device));
  const deviceCode = keep('device code', device.device_code);
  const userCode = keep('user code', device.user_code, 8);
  const browser = new CookieClient({ publicUrl: base } as TestServer);
  const entry = await browser.request('/device');
  const confirm = await browser.request('/device', { form: { xsrf: hidden(entry.text, 'xsrf'), user_code: userCode } });
  const go = await browser.request('/device', { form: { xsrf: hidden(confirm.text, 'xsrf'), user_code: userCode, confirm: 'yes' } });
  assert.equal(go.res.status, 303, go.text);
  const interaction = new URL(go.res.headers.get('location')!, base).pathname;
  const login = await browser.request(interaction);
  const wrong = await browser.request(`${interaction}/login`, { form: { csrf: hidden(login.text, 'csrf'), username: 'alice', password: WRONG_PASSWORD } });
  assert.equal(wrong.res.status, 401);
  let page = await browser.request(`${interaction}/login`, { form: { csrf: hidden(wrong.text, 'csrf'), username: 'alice', password: PASSWORD } });
  // The finished sign-in's 303 is written by oidc-provider straight to the socket: it still carries the security headers.
  assert.equal(page.res.status, 303, page.text);
  for (const name of ['content-security-policy', 'x-frame-options', 'x-content-type-options', 'referrer-policy']) assert.ok(page.res.headers.get(name), `${name} on the sign-in's 303`);
  // Follow the provider's redirects to the consent page, allow, and on to the success page.
  for (let hops = 0; hops < 10; hops++) {
    if (page.res.status === 303 || page.res.status === 302) {
      page = await browser.request(new URL(page.res.headers.get('location')!, base).href);
    } else if (/action="\/interaction\/[^"]+\/consent"/.test(page.text)) {
      const action = /action="(\/interaction\/[^"]+\/consent)"/.exec(page.text)![1]!;
      page = await browser.request(action, { form: { csrf: hidden(page.text, 'csrf') } });
    } else {
      break;
    }
  }
  assert.equal(page.res.status, 200, page.text);
  const polled = await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: 'fullrun-cli' }) });
  const deviceTokens = (await polled.json()) as Record<string, unknown>;
  assert.equal(polled.status, 200, JSON.stringify(deviceTokens));
  keep('device access token', deviceTokens.access_token);
  keep('device id token', deviceTokens.id_token);
  const refreshToken = keep('refresh token', deviceTokens.refresh_token);
  state.accountId = String((JSON.parse(Buffer.from(String(deviceTokens.id_token).split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string }).sub);
  const refreshed = await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'fullrun-cli' }) });
  const refreshedTokens = (await refreshed.json()) as Record<string, unknown>;
  assert.equal(refreshed.status, 200, JSON.stringify(refreshedTokens));
  keep('refreshed access token', refreshedTokens.access_token);
  if (refreshedTokens.refresh_token !== undefined) keep('rotated refresh token', refreshedTokens.refresh_token);
  // Session ids and cookie signatures are credentials; the interaction/resume cookies hold the
  // interaction uid, which is in the page URLs by design.
  const inUrls = /^(?:__Secure-)?gh_(?:interaction|resume)$/;
  for (const [name, value] of browser.cookies) if (value.length >= 16 && !inUrls.test(name)) keep(`cookie ${name}`, value);
  assert.ok([...browser.cookies.keys()].some((n) => n.includes('session')), 'no session cookie to check');

  // The metrics token is used too (and must not be logged either).
  const scrape = await fetch(`http://127.0.0.1:${env.GATEHOUSE_ADMIN_PORT}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(scrape.status, 200);
  assert.match(await scrape.text(), /gatehouse_tokens_issued_total\{grant_type="client_credentials",client_id="svc-mtls"\} 1/);

  server.child.kill('SIGTERM');
  state.exitCode = await server.exited;
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Line = Record<string, unknown>;
const serverAudit = (): Line[] => server.logs.filter((l) => l.audit === true);
const cliAuditLines = (): Line[] =>
  cliLogs
    .flatMap((text) => text.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.audit === true);

describe('a full run against one server process', () => {
  it('the server stopped cleanly (exit 0)', () => {
    assert.equal(state.exitCode, 0, server.stderr());
  });

  it('every expected audit event is there, with client, ip and request id where a request caused it', () => {
    const events = serverAudit();
    const find = (event: string, pred: (l: Line) => boolean = () => true) => events.filter((l) => l.event === event && pred(l));
    const requestCaused = (l: Line) => typeof l.ip === 'string' && typeof l.reqId === 'string';

    for (const client of ['svc-basic', 'svc-mtls', state.registeredId]) {
      const issued = find('token.issued', (l) => l.client_id === client);
      assert.ok(issued.length >= 1, `token.issued for ${client}`);
      assert.ok(issued.every((l) => l.grant_type === 'client_credentials' && requestCaused(l)));
    }
    const [registered] = find('client.registered', (l) => l.client_id === state.registeredId);
    assert.ok(registered && requestCaused(registered), 'client.registered');
    const [updated] = find('client.updated', (l) => l.client_id === state.registeredId);
    assert.ok(updated && requestCaused(updated), 'client.updated');
    const [revoked] = find('token.revoked', (l) => l.client_id === state.registeredId);
    assert.ok(revoked && requestCaused(revoked), 'token.revoked');
    const [rotated] = find('keys.rotated', (l) => JSON.stringify(l.added) === JSON.stringify(state.rotatedKids));
    assert.ok(rotated, 'keys.rotated');

    const [tokenCreated] = cliAuditLines().filter((l) => l.event === 'registration_token.created');
    assert.ok(tokenCreated, 'registration_token.created on the CLI stderr');
    assert.equal(tokenCreated.id, state.registrationTokenId);
    assert.equal(tokenCreated.uses, 1);
    assert.equal(tokenCreated.via, 'cli');

    // The device flow: a failed and a successful sign-in, consent, approval, tokens, a refresh.
    const person = (l: Line) => l.client_id === 'fullrun-cli' && requestCaused(l);
    const [failure] = find('signin.failure', person);
    assert.equal(failure?.reason, 'bad_credentials');
    assert.equal(failure?.username, undefined, 'a failed sign-in never logs what was typed');
    assert.equal(find('signin.success', (l) => person(l) && l.sub === state.accountId && l.username === 'alice').length, 1);
    assert.equal(find('consent.granted', (l) => person(l) && l.sub === state.accountId).length, 1);
    assert.equal(find('device.approved', (l) => person(l) && l.sub === state.accountId).length, 1);
    assert.equal(find('token.issued', (l) => person(l) && l.grant_type === DEVICE_GRANT && l.sub === state.accountId).length, 1);
    assert.equal(find('token.refreshed', (l) => person(l) && l.sub === state.accountId).length, 1);
  });

  it('no log line of the server or the CLI contains a secret, token, password or private key', () => {
    const lines = [...server.logs.map((l) => JSON.stringify(l)), ...server.stderr().split('\n'), ...cliLogs.flatMap((t) => t.split('\n'))];
    assert.ok(lines.length > 30, `only ${lines.length} log lines`);
    assert.ok(secrets.size >= 20, `only ${secrets.size} secrets collected`);
    for (const line of lines) {
      for (const [name, value] of secrets) assert.ok(!line.includes(value), `${name} appears in a log line`);
    }
  });
});
