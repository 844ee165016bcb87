import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const SECRET = 'rate-limit-client-secret-0b9e4c7d2a';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** A form POST from a chosen loopback source address (Linux routes all of 127/8 to lo). */
function post(base: string, path: string, from: string, form: Record<string, string>, auth?: [string, string]): Promise<Answer> {
  const body = new URLSearchParams(form).toString();
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth[0])}:${encodeURIComponent(auth[1])}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', headers, localAddress: from, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = { raw: text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const token = (gh: TestServer, from: string, client: string, how: 'basic' | 'post' = 'basic') =>
  how === 'basic'
    ? post(gh.publicUrl, '/token', from, { grant_type: 'client_credentials' }, [client, SECRET])
    : post(gh.publicUrl, '/token', from, { grant_type: 'client_credentials', client_id: client, client_secret: SECRET });

function assertLimited(answer: Answer, windowSeconds: number): void {
  assert.equal(answer.status, 429, JSON.stringify(answer.body));
  const retryAfter = Number(answer.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${answer.headers['retry-after']}`);
  assert.equal(answer.body.error, 'too_many_requests');
  assert.equal(typeof answer.body.error_description, 'string');
  assert.equal(answer.headers['cache-control'], 'no-store');
}

function clientsFile(ids: Array<[string, 'client_secret_basic' | 'client_secret_post']>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-ratelimit-'));
  const path = join(dir, 'clients.json');
  writeFileSync(path, JSON.stringify(ids.map(([client_id, method]) => ({ client_id, client_secret: SECRET, token_endpoint_auth_method: method, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }))));
  return path;
}

async function scrape(gh: TestServer): Promise<string> {
  return (await fetch(`http://127.0.0.1:${gh.ports.admin}/metrics`)).text();
}

function limitedCount(text: string, limiter: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`gatehouse_rate_limited_total{limiter="${limiter}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('token and device authorization rate limits (window 1 minute)', () => {
  let gh: TestServer;
  before(async () => {
    const ids: Array<[string, 'client_secret_basic' | 'client_secret_post']> = [['svc-1', 'client_secret_basic'], ['svc-2', 'client_secret_basic'], ['svc-3', 'client_secret_basic'], ['svc-4', 'client_secret_basic'], ['svc-a', 'client_secret_basic'], ['svc-b', 'client_secret_basic'], ['svc-p', 'client_secret_post']];
    gh = await startTestServer({
      GATEHOUSE_CLIENTS_FILE: clientsFile(ids),
      GATEHOUSE_TOKEN_RATE_LIMIT_IP: '3',
      GATEHOUSE_TOKEN_RATE_LIMIT_CLIENT: '3',
      GATEHOUSE_DEVICE_RATE_LIMIT_IP: '2',
      GATEHOUSE_DEVICE_RATE_LIMIT_CLIENT: '3',
      GATEHOUSE_RATE_LIMIT_WINDOW: '1m',
    });
  });
  after(() => gh.stop());

  it('per IP: the 4th token request from one address is refused, another address is not', async () => {
    for (const client of ['svc-1', 'svc-2', 'svc-3']) assert.equal((await token(gh, '127.0.0.2', client)).status, 200);
    assertLimited(await token(gh, '127.0.0.2', 'svc-4'), 60);
    const other = await token(gh, '127.0.0.3', 'svc-4');
    assert.equal(other.status, 200);
    assert.equal(typeof other.body.access_token, 'string');
  });

  it('per client: the 4th token request of one client is refused from any address, other clients are not', async () => {
    for (const ip of ['127.0.0.10', '127.0.0.11', '127.0.0.12']) assert.equal((await token(gh, ip, 'svc-a')).status, 200);
    assertLimited(await token(gh, '127.0.0.13', 'svc-a'), 60);
    assert.equal((await token(gh, '127.0.0.13', 'svc-b')).status, 200);
  });

  it('per client, client_id in the body (client_secret_post): counted, and the body still reaches oidc-provider intact', async () => {
    for (const ip of ['127.0.0.20', '127.0.0.21', '127.0.0.22']) {
      const answer = await token(gh, ip, 'svc-p', 'post');
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.token_type, 'Bearer');
    }
    assertLimited(await token(gh, '127.0.0.23', 'svc-p', 'post'), 60);
  });

  it('per client, a client assertion without client_id is counted by its subject', async () => {
    const segment = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const assertion = `${segment({ alg: 'ES256' })}.${segment({ iss: 'jwt-client', sub: 'jwt-client', aud: gh.config.issuer })}.c2lnbmF0dXJl`;
    const form = { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
    // Not a registered client, so oidc-provider refuses it, but the attempts count all the same.
    for (const ip of ['127.0.0.50', '127.0.0.51', '127.0.0.52']) assert.equal((await post(gh.publicUrl, '/token', ip, form)).status, 401);
    assertLimited(await post(gh.publicUrl, '/token', '127.0.0.53', form), 60);
  });

  it('device authorization: per IP and per client; a request refused per IP does not use up the client allowance', async () => {
    const device = (from: string, clientId: string) => post(gh.publicUrl, '/device/auth', from, { client_id: clientId, scope: 'openid' });
    // Until the limit, whatever the endpoint answers, it is not a 429.
    for (let i = 0; i < 2; i++) assert.notEqual((await device('127.0.0.30', 'cli-d1')).status, 429);
    assertLimited(await device('127.0.0.30', 'cli-d1'), 60);
    assert.notEqual((await device('127.0.0.31', 'cli-d1')).status, 429);
    assertLimited(await device('127.0.0.32', 'cli-d1'), 60);
    assert.notEqual((await device('127.0.0.32', 'cli-d2')).status, 429);
  });

  it('refusals are counted per limiter in gatehouse_rate_limited_total, logged once per key, and no secret is logged', async () => {
    const text = await scrape(gh);
    assert.equal(limitedCount(text, 'token:ip'), 1);
    assert.equal(limitedCount(text, 'token:client'), 3);
    assert.equal(limitedCount(text, 'device_authorization:ip'), 1);
    assert.equal(limitedCount(text, 'device_authorization:client'), 1);
    const logged = gh.logs.filter((l) => l.event === 'rate_limited');
    assert.deepEqual(logged.map((l) => [l.limiter, l.ip ?? l.client_id]).sort(), [
      ['device_authorization:client', 'cli-d1'],
      ['device_authorization:ip', '127.0.0.30'],
      ['token:client', 'jwt-client'],
      ['token:client', 'svc-a'],
      ['token:client', 'svc-p'],
      ['token:ip', '127.0.0.2'],
    ]);
    assert.ok(!gh.logText().includes(SECRET));
  });
});

describe('rate limits reset after the window', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer({ GATEHOUSE_CLIENTS_FILE: clientsFile([['svc-r', 'client_secret_basic']]), GATEHOUSE_TOKEN_RATE_LIMIT_IP: '1', GATEHOUSE_TOKEN_RATE_LIMIT_CLIENT: '0', GATEHOUSE_RATE_LIMIT_WINDOW: '2s' });
  });
  after(() => gh.stop());

  it('a refused address gets tokens again once Retry-After has passed', async () => {
    let refused: Answer | undefined;
    // The window opens at the first request; within a handful of requests one lands in the same window.
    for (let i = 0; i < 5 && !refused; i++) {
      const answer = await token(gh, '127.0.0.40', 'svc-r');
      if (answer.status === 429) refused = answer;
      else assert.equal(answer.status, 200);
    }
    assert.ok(refused, 'the limit of 1 per window never triggered');
    assertLimited(refused, 2);
    const deadline = Date.now() + 10_000;
    let answer = refused;
    while (answer.status === 429 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Number(answer.headers['retry-after']) * 1000));
      answer = await token(gh, '127.0.0.40', 'svc-r');
    }
    assert.equal(answer.status, 200, 'still refused after the window');
  });
});
