import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { curl } from '../../helpers/mtls_curl.ts';

const METRICS_TOKEN = 'document-cache-metrics-token-0123';
let gh: TestServer;

before(async () => {
  gh = await startTestServer({ GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN });
});
after(() => gh.stop());

const PER_EXCHANGE = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);
/** Status, headers (without the per-exchange ones) and body text of an answer. */
async function answer(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string>; body: string; reqId: string | null }> {
  const res = await fetch(`${gh.publicUrl}${path}`, { headers });
  const kept = Object.fromEntries([...res.headers].filter(([name]) => !PER_EXCHANGE.has(name)));
  return { status: res.status, headers: kept, body: await res.text(), reqId: res.headers.get('x-request-id') };
}

function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('discovery and JWKS answered again from the first answer', () => {
  it('later plain GETs get the very same status, headers and body; each its own request id, log line and metric', async () => {
    for (const [path, route] of [['/.well-known/openid-configuration', 'discovery'], ['/jwks', 'jwks']] as const) {
      const first = await answer(path);
      assert.equal(first.status, 200);
      const later = [await answer(path), await answer(path, { 'x-request-id': `doc-${route}` })];
      for (const again of later) assert.deepEqual({ ...again, reqId: null }, { ...first, reqId: null }, path);
      assert.equal(later[1]!.reqId, `doc-${route}`);
      assert.notEqual(later[0]!.reqId, first.reqId);
      const line = gh.logs.find((l) => l.reqId === `doc-${route}`);
      assert.deepEqual((line as { req?: { path?: string } } | undefined)?.req?.path, path, 'the replayed request has its log line');
      const metrics = await (await fetch(`http://127.0.0.1:${gh.ports.admin}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      assert.ok(sample(metrics, 'gatehouse_http_requests_total', { route, method: 'GET', status: '200' }) >= 3, `${route} counted under its route name`);
    }
  });

  it('the mTLS listener replays its own answers: the same documents, each request logged and counted under listener="mtls"', async () => {
    const cacert = join(gh.config.certsDir, 'root_ca.crt');
    const path = '/.well-known/openid-configuration';
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await curl(`${gh.mtlsUrl}${path}`, { cacert, headers: [`X-Request-Id: doc-mtls-${i}`] }));
    for (const a of answers) assert.equal(a.status, 200, a.raw);
    assert.deepEqual(answers[2]!.body, answers[0]!.body);
    assert.equal((answers[0]!.body as { issuer?: string }).issuer, gh.config.issuer);
    for (let i = 0; i < 3; i++) {
      const line = gh.logs.find((l) => l.reqId === `doc-mtls-${i}`) as { req?: { path?: string; listener?: string } } | undefined;
      assert.deepEqual([line?.req?.path, line?.req?.listener], [path, 'mtls'], `log line of request ${i}`);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${gh.ports.admin}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    assert.equal(sample(metrics, 'gatehouse_http_requests_total', { route: 'discovery', method: 'GET', status: '200', listener: 'mtls' }), 3);
  });

  it('a request that could get another answer goes through the whole pipeline (CORS Origin, conditional, query, other spelling, HEAD)', async () => {
    const cors = await answer('/jwks', { origin: 'https://spa.example' });
    assert.equal(cors.headers['access-control-allow-origin'], 'https://spa.example');
    assert.equal((await answer('/jwks')).headers['access-control-allow-origin'], '*');
    const withQuery = await answer('/.well-known/openid-configuration?x=1');
    assert.equal(withQuery.status, 200);
    assert.equal(JSON.parse(withQuery.body).issuer, gh.config.issuer);
    const upper = await answer('/JWKS');
    assert.equal(upper.status, 200);
    assert.deepEqual(JSON.parse(upper.body), JSON.parse((await answer('/jwks')).body));
    const head = await fetch(`${gh.publicUrl}/jwks`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('the answer is not taken from a forged Host: discovery URLs stay on the issuer', async () => {
    const { request } = await import('node:http');
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${gh.publicUrl}/.well-known/openid-configuration`, { headers: { host: 'evil.example' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(JSON.parse(body).token_endpoint, `${gh.config.issuer}/token`);
  });
});
