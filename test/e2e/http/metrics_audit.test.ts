import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const SECRET = 'metrics-client-secret-5d1e9b7a3c';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
let gh: TestServer;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-metrics-'));
  writeFileSync(join(dir, 'clients.json'), JSON.stringify([{ client_id: 'svc-m', client_secret: SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }]));
  gh = await startTestServer({ GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'), GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN });
});
after(() => gh.stop());

const form = { authorization: `Basic ${Buffer.from(`svc-m:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' };
const admin = (path: string, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${gh.ports.admin}${path}`, { headers });

function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `) ? Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)) : false);
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

describe('metrics and audit trail', () => {
  const tokens: string[] = [];
  before(async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: form, body: 'grant_type=client_credentials' });
      tokens.push(((await res.json()) as { access_token: string }).access_token);
    }
    await fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: { ...form, authorization: 'Basic c3ZjLW06d3Jvbmc=' }, body: 'grant_type=client_credentials' });
    const revoked = await fetch(`${gh.publicUrl}/token/revocation`, { method: 'POST', headers: { ...form, 'x-request-id': 'revoke-1' }, body: `token=${tokens[0]}` });
    assert.equal(revoked.status, 200);
  });

  it('metrics are not served without the token, nor on the public listener', async () => {
    assert.equal((await admin('/metrics')).status, 401);
    assert.equal((await admin('/metrics', { authorization: 'Bearer wrong-token-xxxxxxxx' })).status, 401);
    assert.equal((await fetch(`${gh.publicUrl}/metrics`)).status, 404);
    assert.equal((await admin('/other', { authorization: `Bearer ${METRICS_TOKEN}` })).status, 404);
  });

  it('a scrape after the scripted run shows the expected counters', async () => {
    const res = await admin('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(sample(text, 'gatehouse_tokens_issued_total', { grant_type: 'client_credentials', client_id: 'svc-m' }), 3);
    assert.equal(sample(text, 'gatehouse_http_requests_total', { route: 'token', status: '200' }), 3);
    assert.equal(sample(text, 'gatehouse_http_requests_total', { route: 'token', status: '401' }), 1);
    assert.equal(sample(text, 'gatehouse_http_requests_total', { route: 'revocation', status: '200' }), 1);
    assert.ok(sample(text, 'gatehouse_store_operation_duration_seconds_count', { operation: 'upsert', outcome: 'ok' }) >= 3);
    assert.match(text, /^nodejs_eventloop_lag_p99_seconds /m);
    assert.match(text, /^process_cpu_user_seconds_total /m);
  });

  it('the health probes have their own route label; any other path under /healthz/ counts as not_found, not as a label of its own', async () => {
    assert.equal((await fetch(`${gh.publicUrl}/healthz/live`)).status, 200);
    for (const path of ['/healthz/a1', '/healthz/a2/b']) assert.equal((await fetch(`${gh.publicUrl}${path}`)).status, 404);
    const text = await (await admin('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })).text();
    assert.ok(sample(text, 'gatehouse_http_requests_total', { route: 'healthz_live', status: '200' }) >= 1);
    assert.doesNotMatch(text, /route="healthz_a/);
    assert.ok(sample(text, 'gatehouse_http_requests_total', { route: 'not_found', status: '404' }) >= 2);
  });

  it('issuance and revocation are audit events with client, ip and request id', () => {
    const audit = gh.logs.filter((l) => l.audit === true);
    const issued = audit.filter((l) => l.event === 'token.issued');
    assert.equal(issued.length, 3);
    for (const e of issued) {
      assert.equal(e.client_id, 'svc-m');
      assert.equal(e.grant_type, 'client_credentials');
      assert.equal(typeof e.reqId, 'string');
      assert.equal(e.ip, '127.0.0.1');
    }
    const revoked = audit.find((l) => l.event === 'token.revoked');
    assert.equal(revoked?.client_id, 'svc-m');
    assert.equal(revoked?.reqId, 'revoke-1');
  });

  it('no secret, token or metrics token appears anywhere in the logs', () => {
    const text = gh.logText();
    for (const secret of [SECRET, METRICS_TOKEN, ...tokens, Buffer.from(`svc-m:${SECRET}`).toString('base64')]) assert.ok(!text.includes(secret), 'a secret leaked into the logs');
  });
});
