import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accounts } from '../../src/accounts/account.ts';
import { CookieClient, hidden } from './browserless.ts';
import { runCli } from './cli.ts';
import { freePort, startTestServer, type TestServer } from './server.ts';

export const PASSWORD = 'correct horse battery staple';
export const WEB_SECRET = 'web-app-secret-0123456789abcdefghijklmnop';

/** A loopback listener, as a CLI opens one to catch the authorization response (RFC 8252 §7.3). */
export interface Callback {
  /** The redirect URI to send, with the listener's port. */
  redirectUri: string;
  /** The next request that reaches the listener (rejects after 30 s). */
  next(): Promise<URL>;
  close(): Promise<void>;
}

/** Listens on `host` (127.0.0.1 or ::1), on `port` or a random one, and answers every request with a plain page. */
export async function listenForCallback(host: '127.0.0.1' | '::1', path = '/callback', port = 0): Promise<Callback> {
  const waiting: Array<(url: URL) => void> = [];
  const received: URL[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', redirectUri);
    // The browser's own favicon request is not an answer from the server.
    if (url.pathname === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Signed in</title><h1>Signed in</h1><p>You can close this window and return to your terminal.</p>');
    const w = waiting.shift();
    if (w) w(url);
    else received.push(url);
  });
  server.listen(port, host);
  await once(server, 'listening');
  const actual = (server.address() as { port: number }).port;
  const redirectUri = `http://${host.includes(':') ? `[${host}]` : host}:${actual}${path}`;
  return {
    redirectUri,
    next: () => {
      const r = received.shift();
      if (r) return Promise.resolve(r);
      return new Promise<URL>((resolve, reject) => {
        // A redirect that never comes fails the test instead of hanging the run.
        const timer = setTimeout(() => reject(new Error(`nothing reached ${redirectUri} within 30 s`)), 30_000);
        waiting.push((url) => {
          clearTimeout(timer);
          resolve(url);
        });
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface CodeServer extends TestServer {
  /** The web client's only redirect URI (http://127.0.0.1:<webPort>/cb). */
  webRedirect: string;
  webPort: number;
  aliceId: string;
}

/**
 * The clients an operator would declare for this flow: `xxctl`, a native public CLI catching the
 * redirect on any loopback port, and `webapp`, a confidential web client with one exact redirect.
 * alice is added with the real `gatehouse users add` before the server starts.
 */
export async function startCodeServer(env: Record<string, string> = {}): Promise<CodeServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-code-'));
  const webPort = await freePort();
  const webRedirect = `http://127.0.0.1:${webPort}/cb`;
  writeFileSync(join(dir, 'clients.json'), JSON.stringify([
    {
      client_id: 'xxctl',
      client_name: 'xxctl',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback'],
    },
    {
      client_id: 'webapp',
      client_name: 'Web App',
      client_secret: WEB_SECRET,
      // The tests introspect the native client's tokens as this client, as an API would.
      introspect_any_token: true,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [webRedirect],
      post_logout_redirect_uris: [`http://127.0.0.1:${webPort}/bye`],
    },
  ]));
  const data = { GATEHOUSE_DATA_DIR: join(dir, 'data') };
  const add = await runCli(['users', 'add', 'alice', '--email', 'alice@example.com', '--password-stdin'], { env: data, input: PASSWORD, cwd: dir });
  assert.equal(add.status, 0, add.stderr);
  const server = await startTestServer({ GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'), ...data, ...env });
  const alice = await new Accounts(server.store).findByUsername('alice');
  assert.ok(alice);
  const stop = server.stop.bind(server);
  return Object.assign(server, {
    webRedirect,
    webPort,
    aliceId: alice.id,
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/**
 * Runs an authorization request through our sign-in and consent forms the way a browser would
 * (cookies kept, CSRF tokens read from the pages) and returns the URL the server redirected to.
 */
export async function authorizeWithForms(server: TestServer, browser: CookieClient, params: Record<string, string>, credentials = { username: 'alice', password: PASSWORD }): Promise<URL> {
  const target = new URL(params.redirect_uri!);
  let next = `${server.publicUrl}/auth?${new URLSearchParams({ response_type: 'code', scope: 'openid', ...params })}`;
  for (let step = 0; step < 10; step++) {
    const { res, text } = await browser.request(next);
    if (res.status === 200 && /action="[^"]*\/login"/.test(text)) {
      const path = /action="([^"]*)\/login"/.exec(text)![1]!;
      const r = await browser.request(`${path}/login`, { form: { csrf: hidden(text, 'csrf'), ...credentials } });
      assert.equal(r.res.status, 303, r.text);
      next = new URL(r.res.headers.get('location')!, server.publicUrl).href;
      continue;
    }
    if (res.status === 200 && /action="[^"]*\/consent"/.test(text)) {
      const path = /action="([^"]*)\/consent"/.exec(text)![1]!;
      const r = await browser.request(`${path}/consent`, { form: { csrf: hidden(text, 'csrf') } });
      assert.equal(r.res.status, 303, r.text);
      next = new URL(r.res.headers.get('location')!, server.publicUrl).href;
      continue;
    }
    assert.ok([302, 303].includes(res.status), `unexpected ${res.status} at ${next}: ${text.slice(0, 300)}`);
    const location = new URL(res.headers.get('location')!, server.publicUrl);
    if (location.origin === target.origin && location.pathname === target.pathname) return location;
    next = location.href;
  }
  throw new Error('authorization did not reach the redirect URI in 10 steps');
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** POST /token; `secret` authenticates the web client with HTTP Basic. */
export async function tokenRequest(server: TestServer, form: Record<string, string>, secret?: { id: string; secret: string }): Promise<TokenAnswer> {
  const headers: Record<string, string> = {};
  if (secret) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(secret.id)}:${encodeURIComponent(secret.secret)}`).toString('base64')}`;
  const res = await fetch(`${server.publicUrl}/token`, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Token introspection (RFC 7662) as the confidential web client. */
export async function introspect(server: TestServer, token: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.publicUrl}/token/introspection`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`webapp:${WEB_SECRET}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}
