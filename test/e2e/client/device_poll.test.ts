import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loginWithDevice, TokenCache, type TransientFailure } from '../../../src/client/index.ts';

/**
 * A stand-in token endpoint behind a misbehaving proxy: the answers a CLI meets while a server
 * restarts behind a load balancer (an HTML 502, a JSON 503 without Retry-After), then tokens.
 */
test('device polls ride out 502 and 503 answers with backoff, reporting each, then get the tokens', async () => {
  const answers: Array<[number, string, string]> = [
    [502, 'text/html', '<html><body>Bad Gateway</body></html>'],
    [503, 'application/json', JSON.stringify({ error: 'temporarily_unavailable', error_description: 'restarting' })],
    [400, 'application/json', JSON.stringify({ error: 'authorization_pending' })],
    [200, 'application/json', JSON.stringify({ access_token: 'at-1', token_type: 'Bearer', expires_in: 60 })],
  ];
  const polls: string[] = [];
  const server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const send = (status: number, type: string, body: string) => res.writeHead(status, { 'content-type': type }).end(body);
    if (req.url === '/.well-known/openid-configuration') {
      return send(200, 'application/json', JSON.stringify({ issuer: base, token_endpoint: `${base}/token`, device_authorization_endpoint: `${base}/device/auth`, authorization_endpoint: `${base}/auth`, jwks_uri: `${base}/jwks` }));
    }
    if (req.url === '/device/auth') return send(200, 'application/json', JSON.stringify({ device_code: 'dc', user_code: 'BCDF-GHJK', verification_uri: `${base}/device`, expires_in: 120, interval: 1 }));
    if (req.url === '/token') {
      polls.push(new Date().toISOString());
      return send(...answers[Math.min(polls.length - 1, answers.length - 1)]!);
    }
    send(404, 'text/plain', 'no');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-poll-'));
  try {
    const retries: TransientFailure[] = [];
    const { session } = await loginWithDevice({
      issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      clientId: 'cli',
      scope: 'things:read',
      cache: new TokenCache(dir),
      onPrompt: () => {},
      onRetry: (f) => retries.push(f),
    });
    assert.equal(session.access_token, 'at-1');
    assert.equal(polls.length, 4);
    assert.deepEqual(retries.map((r) => r.reason), ['HTTP 502', 'HTTP 503']);
    assert.deepEqual(retries.map((r) => r.retryInMs), [1000, 2000], 'exponential backoff from the interval');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
