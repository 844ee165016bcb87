import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Accounts, type NewAccount } from '../../src/accounts/account.ts';
import { DEVICE_CODE_GRANT } from '../../src/shared/grant_types.ts';
import { CookieClient, hidden } from './browserless.ts';
import { startTestServer, type TestServer } from './server.ts';

export const DEVICE_GRANT = DEVICE_CODE_GRANT;
export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');

/** Public device-flow clients, as an operator would declare them in GATEHOUSE_CLIENTS_FILE. */
export const CLIENTS = [
  { client_id: 'xxctl', client_name: 'xxctl <b>CLI</b>', token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT, 'refresh_token'], response_types: [], redirect_uris: [] },
  { client_id: 'other-cli', client_name: 'Other CLI', token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT, 'refresh_token'], response_types: [], redirect_uris: [] },
];

export interface DeviceServer extends TestServer {
  accounts: Accounts;
}

/** A server with the device clients above and a 1 s polling interval (tests poll for real). */
export async function startDeviceServer(env: Record<string, string> = {}): Promise<DeviceServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-clients-'));
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify(CLIENTS));
  const server = await startTestServer({ GATEHOUSE_CLIENTS_FILE: clientsFile, GATEHOUSE_DEVICE_POLL_INTERVAL: '1s', ...env });
  const stop = server.stop.bind(server);
  return Object.assign(server, {
    accounts: new Accounts(server.store),
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export const ALICE: NewAccount = {
  username: 'alice',
  password: 'correct horse battery staple',
  name: 'Alice Liddell',
  email: 'alice@example.com',
  emailVerified: true,
  groups: ['engineering', 'oncall'],
  uidNumber: 1001,
  gidNumber: 100,
};

export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** POST /device/auth as a CLI would. */
export async function requestDeviceCode(server: TestServer, clientId = 'xxctl', scope = 'openid profile email groups posix offline_access'): Promise<DeviceAuthorization> {
  const res = await fetch(`${server.publicUrl}/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: clientId, scope }) });
  if (res.status !== 200) throw new Error(`device authorization failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as DeviceAuthorization;
}

/** One poll of the token endpoint. */
export async function pollOnce(server: TestServer, deviceCode: string, clientId = 'xxctl'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.publicUrl}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Saves a full-page screenshot under test-artifacts/<folder>/<name>.png. */
export async function screenshot(page: Page, folder: string, name: string): Promise<void> {
  const dir = join(ARTIFACTS, folder);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/**
 * The pages a person sees in one tab: every committed main-frame navigation, by path (a POST
 * answered 303 and the GET it leads to are one page, as the browser shows only the last).
 */
export function pageCounter(page: Page): { paths: string[]; reset(): void } {
  const paths: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) paths.push(new URL(frame.url()).pathname);
  });
  return { paths, reset: () => void paths.splice(0) };
}

/** Decodes a JWT payload (the signature is checked by openid-client where it matters). */
export function jwtClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/**
 * Approves a device code the way a person does, in a fresh browser context: code page,
 * confirmation, sign-in, consent when asked, until "Device connected".
 */
export async function approveInBrowser(browser: Browser, server: TestServer, userCode: string, account: NewAccount = ALICE): Promise<void> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.config.issuer}/device`);
    await page.getByLabel('Code').fill(userCode);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username').fill(account.username);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const consent = page.getByRole('button', { name: 'Allow' });
    const done = page.getByRole('heading', { name: 'Device connected' });
    await Promise.race([consent.waitFor(), done.waitFor()]);
    if (await consent.isVisible()) await consent.click();
    await done.waitFor();
  } finally {
    await context.close();
  }
}

/**
 * Approves a device code through the pages without a browser, as `account`: the entry page, the
 * confirmation, sign-in and consent forms (cookies and CSRF tokens kept by CookieClient).
 */
export async function approveWithForms(server: TestServer, userCode: string, account: NewAccount = ALICE): Promise<void> {
  const client = new CookieClient(server);
  const entry = await client.request('/device');
  const confirm = await client.request('/device', { form: { xsrf: hidden(entry.text, 'xsrf'), user_code: userCode } });
  let step = await client.request('/device', { form: { xsrf: hidden(confirm.text, 'xsrf'), user_code: userCode, confirm: 'yes' } });
  for (let i = 0; i < 10; i++) {
    if ([302, 303].includes(step.res.status)) {
      step = await client.request(new URL(step.res.headers.get('location')!, server.publicUrl).href);
      continue;
    }
    const form = /action="([^"]*\/(login|consent))"/.exec(step.text);
    if (!form) break;
    const fields: Record<string, string> = form[2] === 'login' ? { csrf: hidden(step.text, 'csrf'), username: account.username, password: account.password } : { csrf: hidden(step.text, 'csrf') };
    step = await client.request(form[1]!, { form: fields });
  }
  if (step.res.status !== 200) throw new Error(`device approval ended with ${step.res.status}: ${step.text.slice(0, 300)}`);
}
