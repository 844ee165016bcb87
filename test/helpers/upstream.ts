import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata } from 'oidc-provider';
import type { Page } from 'playwright-core';
import { freePort } from './server.ts';

/** What the upstream knows about a person; tests change it between sign-ins. */
export interface UpstreamUser {
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
  groups?: string[];
  uid_number?: number;
  gid_number?: number;
}

export interface Upstream {
  issuer: string;
  port: number;
  users: Map<string, UpstreamUser>;
  /**
   * Holds every request to the token endpoint from now on until `release()`, then answers those
   * one after the other (later ones go straight through); `held()` counts those held. Lets a test line up concurrent re-checks.
   */
  holdTokenRequests(): { held(): number; release(): void };
  stop(): Promise<void>;
}

export interface UpstreamOptions {
  /**
   * Rotate the refresh token at every refresh (as Entra ID, Okta with rotation, or Gatehouse for
   * public clients do). oidc-provider then treats a rotated-out token presented again as theft:
   * `invalid_grant`, and the whole grant revoked.
   */
  rotateRefreshTokens?: boolean;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A second, independent OpenID provider: a bare oidc-provider with its own (development) login
 * page, where any login name signs in as that user. Its accounts come from `users`.
 */
export async function startUpstream(clients: ClientMetadata[], port?: number, options: UpstreamOptions = {}): Promise<Upstream> {
  const p = port ?? (await freePort());
  const issuer = `http://127.0.0.1:${p}`;
  const users = new Map<string, UpstreamUser>();
  const provider = new Provider(issuer, {
    clients,
    cookies: { keys: ['upstream-test-cookie-key-0123456789'] },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', 'posix'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'], groups: ['groups'], posix: ['uid_number', 'gid_number'] },
    features: { devInteractions: { enabled: true } },
    ...(options.rotateRefreshTokens ? { rotateRefreshToken: true } : {}),
    async findAccount(_ctx, id) {
      const user = users.get(id);
      if (!user) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...users.get(id) }) };
    },
  });
  let gate: { waiting: number; open: Promise<void>; turn: Promise<void> } | undefined;
  provider.use(async (ctx, next) => {
    const g = gate;
    if (!g || ctx.method !== 'POST' || ctx.path !== '/token') return next();
    g.waiting += 1;
    // Released one at a time: its in-memory adapter's consume is not atomic, and a real upstream
    // (or a store with an atomic consume) would see the second use of a token after the first.
    const previous = g.turn;
    let done!: () => void;
    g.turn = new Promise<void>((resolve) => (done = resolve));
    await g.open;
    await previous;
    try {
      await next();
    } finally {
      done();
    }
  });
  const holdTokenRequests = () => {
    let release!: () => void;
    const held = { waiting: 0, open: new Promise<void>((resolve) => (release = resolve)), turn: Promise.resolve() };
    gate = held;
    return { held: () => held.waiting, release: () => ((gate = undefined), release()) };
  };
  const server = createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', () => resolve());
  });
  return { issuer, port: p, users, holdTokenRequests, stop: () => close(server) };
}

/** Signs in on the upstream's own pages: any login name, then its consent screen. */
export async function upstreamSignIn(page: Page, login: string): Promise<void> {
  await page.locator('input[name=login]').waitFor();
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/**
 * A server that lies about an issuer: at `/` it serves the upstream's discovery document claiming
 * to be the issuer itself (endpoints still the upstream's, so responses and ID tokens come from
 * another issuer) and not promising the `iss` response parameter; at `/wrong` it serves the upstream's document as is (naming the upstream, not
 * `/wrong`).
 */
export async function startIssuerLiar(upstream: Upstream): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      const original = (await (await fetch(`${upstream.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      const { port } = server.address() as AddressInfo;
      const url = `http://127.0.0.1:${port}`;
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ ...original, issuer: url, authorization_response_iss_parameter_supported: undefined }));
      else if (req.url === '/wrong/.well-known/openid-configuration') res.end(JSON.stringify(original));
      else {
        res.statusCode = 404;
        res.end('{}');
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stop: () => close(server) };
}
