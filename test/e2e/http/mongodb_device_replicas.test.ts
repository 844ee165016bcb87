import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { Accounts } from '../../../src/accounts/account.ts';
import { MongoStore } from '../../../src/storage/mongodb/mongodb_store.ts';
import { stopAll } from '../../helpers/cli.ts';
import { startReplicas, type Replica } from '../../helpers/replicas.ts';
import { ALICE, CLIENTS, DEVICE_GRANT, launchBrowser, screenshot } from '../../helpers/device.ts';
import { startMongo, type MongoServer } from '../../helpers/mongodb.ts';
import { freePort } from '../../helpers/server.ts';


let mongo: MongoServer;
let dir: string;
let browser: Browser;
let lb: Server;
let issuer: string;
const replicas: Replica[] = [];

/**
 * Two `gatehouse serve` processes (A, B) on one MongoDB database behind a stand-in load balancer
 * at the issuer URL that routes by path: the CLI's endpoints (/device/auth, /token) to A,
 * everything else (the pages) to B. So a device flow is started and polled on A and confirmed
 * only through B's pages, with every URL the issuer's.
 */
before(async () => {
  mongo = await startMongo();
  dir = mkdtempSync(join(tmpdir(), 'gh-device-replicas-'));
  const uri = mongo.uri();
  const [lbPort, portA, portB] = [await freePort(), await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${lbPort}`;
  replicas.push(...(await startReplicas({ dir, mongodbUri: uri, issuer, ports: [portA!, portB!], clients: CLIENTS, env: { GATEHOUSE_DEVICE_POLL_INTERVAL: '1s' } })));

  const cliPaths = new Set(['/device/auth', '/token']);
  lb = createServer((req, res) => {
    const port = cliPaths.has(new URL(req.url ?? '/', issuer).pathname) ? portA : portB;
    const upstream = request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => lb.listen(lbPort, '127.0.0.1', resolve));

  const store = new MongoStore({ uri });
  try {
    await new Accounts(store).create(ALICE);
  } finally {
    await store.close();
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (lb) await new Promise((r) => lb.close(r));
  let statuses: Array<number | null> = [];
  try {
    statuses = await stopAll(replicas.map((r) => r.proc));
  } finally {
    await mongo?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(statuses, replicas.map(() => 0), 'each replica shuts down cleanly on SIGTERM');
});

async function poll(base: string, deviceCode: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: 'xxctl' }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function approveInBrowser(verificationUri: string, userCode: string, shots?: string): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(verificationUri);
    await page.getByLabel('Code').fill(userCode);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Confirm this device' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username').fill(ALICE.username);
    await page.getByLabel('Password').fill(ALICE.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Consent is asked once per account and client; a second flow goes straight through.
    const next = page.getByRole('heading', { name: /^(Allow access\?|Device connected)$/ });
    await next.waitFor();
    if ((await next.textContent()) === 'Allow access?') await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    if (shots) await screenshot(page, shots, 'device-connected-on-b');
  } finally {
    await context.close();
  }
}

async function deviceAuthorization(base: string) {
  const res = await fetch(`${base}/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: 'xxctl', scope: 'openid profile offline_access' }) });
  assert.equal(res.status, 200);
  return (await res.json()) as { device_code: string; user_code: string; verification_uri: string; interval: number };
}

describe('device flow across two Gatehouse processes on one MongoDB database', () => {
  it('started on A, confirmed through B\'s pages, polled on A', async () => {
    const [a, b] = replicas;
    const auth = await deviceAuthorization(issuer);
    assert.equal(auth.verification_uri, `${issuer}/device`);
    assert.equal((await poll(issuer, auth.device_code)).body.error, 'authorization_pending');

    await approveInBrowser(auth.verification_uri, auth.user_code, 'mongodb-replicas');
    const paths = (r: Replica) => r.proc.logs.map((l) => (l.req as { path?: string } | undefined)?.path).filter(Boolean);
    assert.ok(paths(b!).includes('/device'), 'B served the device pages');
    assert.ok(!paths(b!).includes('/token') && !paths(b!).includes('/device/auth'), 'B saw no CLI request');
    assert.ok(!paths(a!).includes('/device'), 'A served no page');
    assert.ok(paths(a!).includes('/device/auth') && paths(a!).includes('/token'), 'A started the flow and answered the polls');

    await new Promise((r) => setTimeout(r, auth.interval * 1000 + 50));
    const done = await poll(issuer, auth.device_code);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.ok(done.body.access_token && done.body.refresh_token && done.body.id_token);
  });

  it('an approved device code polled concurrently on both replicas is redeemed exactly once', async () => {
    const auth = await deviceAuthorization(issuer);
    await approveInBrowser(auth.verification_uri, auth.user_code);
    await new Promise((r) => setTimeout(r, auth.interval * 1000 + 50));
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => poll(replicas[i % 2]!.base, auth.device_code)));
    assert.equal(results.filter((r) => r.status === 200).length, 1, JSON.stringify(results.map((r) => r.body.error ?? 'ok')));
    for (const r of results.filter((x) => x.status !== 200)) assert.ok(['invalid_grant', 'slow_down'].includes(r.body.error as string), String(r.body.error));
    // A poll after the redemption is refused too, and takes nothing from the winner: its tokens stay valid.
    await new Promise((r) => setTimeout(r, auth.interval * 1000 + 50));
    const late = await poll(replicas[1]!.base, auth.device_code);
    assert.equal(late.body.error, 'invalid_grant');
    const winner = results.find((r) => r.status === 200)!;
    for (const r of replicas) {
      const me = await fetch(`${r!.base}/me`, { headers: { authorization: `Bearer ${String(winner.body.access_token)}` } });
      assert.equal(me.status, 200, `userinfo on ${r!.base} after the late poll`);
    }
  });
});
