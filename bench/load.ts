import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  duration: number;
  /** Total requests (smoke runs). */
  amount?: number;
  /** https: the client certificate and key files to present. */
  tls?: { cert: string; key: string };
  /** A new connection (a full TLS handshake on https, no session resumption) for every request. */
  handshakeEach?: boolean;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** Server CPU time per request (µs), from the server's own process.cpuUsage(). */
  cpuPerRequest?: number;
  /** Server event-loop delay during the run (ms). */
  lagP99?: number;
  /** Server resident memory at the end of the run (MB). */
  rssMB?: number;
}

/** One autocannon run against a keep-alive pool of `connections` (or new connections, see `reconnectRate`). */
export async function load(options: LoadOptions): Promise<LoadResult> {
  if (options.handshakeEach) return loadFresh(options);
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    connections: options.connections,
    ...(options.tls ? { tlsOptions: { cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) } } : {}),
    ...(options.amount ? { amount: options.amount } : { duration: options.duration }),
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/**
 * `connections` workers, each sending one request per new TLS connection (no agent, so no session
 * cache: every request pays a full handshake, as a CLI started per call does). autocannon's
 * `reconnectRate: 1` drops the response it reconnects on, so it cannot measure this.
 */
async function loadFresh(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const cert = options.tls ? readFileSync(options.tls.cert) : undefined;
  const key = options.tls ? readFileSync(options.tls.key) : undefined;
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let sent = 0;
  const began = performance.now();
  const until = began + options.duration * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = request(
        url,
        { method: options.method ?? 'GET', headers: { ...options.headers, connection: 'close' }, agent: false, cert, key, rejectUnauthorized: false },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            if ((res.statusCode ?? 0) >= 300) non2xx++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(options.body);
    });
  const worker = async () => {
    while (options.amount ? sent < options.amount : performance.now() < until) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  const elapsed = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0);
  return { rps: Math.round(latencies.length / elapsed), p50: at(50), p99: at(99), requests: latencies.length, errors, non2xx };
}
