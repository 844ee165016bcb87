import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CLI, cleanEnv, ROOT, runCli } from '../../helpers/cli.ts';
import { ALICE } from '../../helpers/device.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { Accounts } from '../../../src/accounts/account.ts';

export const API_SECRET = 'api-introspection-secret-0123456789abcdef';

/** An API that introspects the tokens (the CLI's own client is added with `gatehouse clients add`). */
export const CLIENTS = [
  { client_id: 'api', client_secret: API_SECRET, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], introspect_any_token: true },
];

/** A server with those clients and alice, plus a private config dir for the CLI's token cache. */
export async function startLoginServer(env: Record<string, string> = {}): Promise<TestServer & { home: string }> {
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-login-'));
  const clientsFile = join(home, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify(CLIENTS));
  mkdirSync(join(home, 'config'));
  const server = await startTestServer({ GATEHOUSE_CLIENTS_FILE: clientsFile, GATEHOUSE_DEVICE_POLL_INTERVAL: '1s', ...env });
  await new Accounts(server.store).create(ALICE);
  // The command from the README, against the server's own store.
  const added = await runCli(
    ['clients', 'add', '--id', 'team-cli', '--name', 'Team CLI', '--public', '--native', '--grant', 'device_code', 'authorization_code', 'refresh_token', '--redirect-uri', 'http://127.0.0.1/callback'],
    { env: { GATEHOUSE_DATA_DIR: server.config.dataDir, GATEHOUSE_CLIENTS_FILE: clientsFile } },
  );
  if (added.status !== 0) throw new Error(`gatehouse clients add failed: ${added.stderr}`);
  const stop = server.stop.bind(server);
  return Object.assign(server, {
    home,
    async stop() {
      await stop();
      rmSync(home, { recursive: true, force: true });
    },
  });
}

export interface CliChild {
  child: ChildProcess;
  stderr(): string;
  /** Resolves with the first match of `re` in stderr. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** Runs `gatehouse …` in the background, as a person's terminal would. */
export function spawnCli(args: string[], env: Record<string, string>): CliChild {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const listeners: Array<() => void> = [];
  child.stderr!.on('data', (d) => {
    err += d;
    listeners.forEach((l) => l());
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = err.match(re);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => reject(new Error(`no ${re} within ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs);
        listeners.push(check);
        void exited.then(() => setTimeout(() => reject(new Error(`gatehouse exited before ${re}; stderr:\n${err}`)), 50));
        check();
      });
    },
  };
}

/**
 * Signs alice in and allows access on our pages. A device flow has no consent page (its
 * confirmation page is the consent): pass `consent: false` there.
 */
export async function signInAndAllow(page: Page, consent = true): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Username').fill(ALICE.username);
  await page.getByLabel('Password').fill(ALICE.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (!consent) return;
  await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
  await page.getByRole('button', { name: 'Allow' }).click();
}

/**
 * Approves a device login the CLI printed: opens its `verification_uri_complete` in a fresh
 * browser context (straight to the confirmation page, which is the consent) and signs alice in;
 * `beforeClose` may take a screenshot.
 */
export async function approveDeviceLogin(browser: Browser, complete: string, beforeClose?: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(complete);
  await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
  await page.getByRole('button', { name: 'Continue' }).click();
  await signInAndAllow(page, false);
  await page.getByRole('heading', { name: 'Device connected' }).waitFor();
  await beforeClose?.(page);
  await context.close();
}

/** RFC 7662 introspection as the API would do it. */
export async function introspect(server: TestServer, token: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.publicUrl}/token/introspection`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`api:${API_SECRET}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  });
  if (res.status !== 200) throw new Error(`introspection answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}
