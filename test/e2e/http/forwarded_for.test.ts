import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as tlsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

// Which address Gatehouse takes for the client (`ctx.ip`, the `ip` of the request log line and the
// key of the per-IP limits) when a proxy appends to the X-Forwarded-For the client sent, as nginx
// `$proxy_add_x_forwarded_for`, Envoy and AWS ALB do.

const SECRET = 'forwarded-for-client-secret-5d1f0a9c3e';

/** A request from a chosen loopback source address (Linux routes all of 127/8 to lo); resolves to its status. */
function send(url: string, from: string, headers: Record<string, string>, body?: string): Promise<number> {
  const secure = url.startsWith('https:');
  const options = { method: body === undefined ? 'GET' : 'POST', headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) }, localAddress: from, agent: false, ...(secure ? { rejectUnauthorized: false } : {}) };
  return new Promise((resolve, reject) => {
    const req = (secure ? tlsRequest : request)(url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The client address Gatehouse logged for a GET of the discovery document sent with `forwardedFor`. */
async function seenAs(gh: TestServer, from: string, forwardedFor: string, url = gh.publicUrl): Promise<unknown> {
  const id = randomUUID();
  assert.equal(await send(`${url}/.well-known/openid-configuration`, from, { 'x-forwarded-for': forwardedFor, 'x-request-id': id }), 200);
  const line = gh.logs.find((l) => l.reqId === id && l.msg === 'request');
  assert.ok(line, `no request log line for ${id}`);
  return (line.req as { ip?: unknown }).ip;
}

function clientsFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'gh-forwarded-')), 'clients.json');
  writeFileSync(path, JSON.stringify([{ client_id: 'svc-x', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }]));
  return path;
}

const garbage = ["x'; drop", '1.2.3.4, not-an-address', '1.2.3.4,', `1.2.3.4, ${'9'.repeat(10_000)}`, '1.2.3.4, 5.6.7.8:x', '[::1', 'x'.repeat(10_000)];

describe('X-Forwarded-For with GATEHOUSE_TRUST_PROXY and no GATEHOUSE_TRUSTED_PROXIES (the one proxy in front)', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer({ GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_CLIENTS_FILE: clientsFile(), GATEHOUSE_TOKEN_RATE_LIMIT_IP: '3', GATEHOUSE_TOKEN_RATE_LIMIT_CLIENT: '0', GATEHOUSE_RATE_LIMIT_WINDOW: '1m' });
  });
  after(() => gh.stop());

  it('the client is the rightmost entry, the address the proxy saw; what the client wrote to its left is not believed', async () => {
    assert.equal(await seenAs(gh, '127.0.0.1', '1.2.3.4, 5.6.7.8'), '5.6.7.8');
    assert.equal(await seenAs(gh, '127.0.0.1', ' 2001:db8::7 '), '2001:db8::7');
  });

  it('a port the proxy wrote after the address (Azure Application Gateway) is dropped', async () => {
    assert.equal(await seenAs(gh, '127.0.0.1', '1.2.3.4, 5.6.7.8:443'), '5.6.7.8');
    assert.equal(await seenAs(gh, '127.0.0.1', '[2001:db8::9]:8443'), '2001:db8::9');
  });

  it('a rightmost entry that is not an IP address (or a 10,000-character one) falls back to the peer, the proxy', async () => {
    for (const value of garbage) assert.equal(await seenAs(gh, '127.0.0.1', value), '127.0.0.1', value.slice(0, 40));
  });

  it('the per-IP token limit holds although every request forges a different leftmost address', async () => {
    const body = 'grant_type=client_credentials';
    const headers = (i: number) => ({
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`svc-x:${SECRET}`).toString('base64')}`,
      // What the client sent, then what the proxy appended.
      'x-forwarded-for': `198.51.100.${i}, 203.0.113.7`,
    });
    for (let i = 1; i <= 3; i++) assert.equal(await send(`${gh.publicUrl}/token`, '127.0.0.1', headers(i), body), 200);
    assert.equal(await send(`${gh.publicUrl}/token`, '127.0.0.1', headers(4), body), 429);
    const limited = gh.logs.filter((l) => l.event === 'rate_limited');
    assert.deepEqual(limited.map((l) => [l.limiter, l.ip]), [['token:ip', '203.0.113.7']]);
  });

  it('on the mTLS listener, which no proxy can add headers to, X-Forwarded-For is never believed', async () => {
    assert.ok(gh.mtlsUrl);
    assert.equal(await seenAs(gh, '127.0.0.1', '1.2.3.4, 5.6.7.8', gh.mtlsUrl), '127.0.0.1');
  });
});

describe('X-Forwarded-For with GATEHOUSE_TRUSTED_PROXIES=127.0.0.1,10.0.0.0/8', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer({ GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/8' });
  });
  after(() => gh.stop());

  it('from a trusted peer, entries that are trusted proxies are skipped from the right and the next one is the client', async () => {
    assert.equal(await seenAs(gh, '127.0.0.1', '1.2.3.4, 5.6.7.8, 10.1.2.3'), '5.6.7.8');
    assert.equal(await seenAs(gh, '127.0.0.1', '1.2.3.4,5.6.7.8,10.1.2.3,10.9.9.9'), '5.6.7.8');
  });

  it('a list naming only trusted proxies, or garbage where the client should be, falls back to the peer', async () => {
    assert.equal(await seenAs(gh, '127.0.0.1', '10.1.2.3, 10.4.5.6'), '127.0.0.1');
    assert.equal(await seenAs(gh, '127.0.0.1', `${'10.0.0.1,'.repeat(1500)}10.0.0.1`), '127.0.0.1');
    for (const value of garbage) assert.equal(await seenAs(gh, '127.0.0.1', `${value}, 10.1.2.3`), '127.0.0.1', value.slice(0, 40));
  });

  it('from a peer that is not a trusted proxy, X-Forwarded-For is ignored', async () => {
    assert.equal(await seenAs(gh, '127.0.0.5', '1.2.3.4, 5.6.7.8'), '127.0.0.5');
  });
});
