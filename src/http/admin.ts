import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { credentialsFor } from './authorization.ts';
import type { Metrics } from './metrics.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The admin listener: `GET /metrics` in Prometheus text format, behind a bearer token when one is
 * configured. Nothing else is served here, and metrics are never served on the public listener.
 */
export function createAdminServer(metrics: Metrics, token: string | undefined): Server {
  const expected = token ? digest(token) : undefined;
  return createServer({ requestTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
      res.end(JSON.stringify(body));
    };
    if (path !== '/metrics') return json(404, { error: 'not_found', error_description: 'only /metrics is served here' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'invalid_request', error_description: 'use GET' }, { allow: 'GET, HEAD' });
    // Digests of equal length, so the comparison takes the same time whatever was sent.
    if (expected && !timingSafeEqual(digest(credentialsFor(req.headers.authorization, 'bearer') ?? ''), expected)) {
      return json(401, { error: 'invalid_token', error_description: 'a valid bearer token is required' }, { 'www-authenticate': 'Bearer realm="gatehouse-metrics"' });
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => json(500, { error: 'server_error', error_description: 'metrics collection failed' }),
    );
  });
}
