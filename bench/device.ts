// Device-code polling: N pending device authorizations, each polled at its interval by a client
// that waits `interval` seconds after every answer (RFC 8628 §3.5), over a keep-alive pool, for
// a fixed time. Reports the poll rate reached, client-side latency percentiles and the server's
// event-loop delay during the polling.
import { Agent, request } from 'node:http';
import { DEVICE_CLIENT_ID, type BenchServer, type Probe } from './harness.ts';

export interface PollResult {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  errors: number;
  non2xx: number;
  pending: number;
  interval: number;
  lag: Probe;
}

interface Answer {
  status: number;
  body: string;
}

function post(agent: Agent, url: URL, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The server's device authorization endpoint from discovery, or undefined when it has no device flow. */
export async function deviceEndpoint(server: BenchServer): Promise<string | undefined> {
  const res = await fetch(`${server.url}/.well-known/openid-configuration`);
  const meta = (await res.json()) as { device_authorization_endpoint?: string };
  return meta.device_authorization_endpoint;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const ms = (v: number) => Math.round(v * 100) / 100;

export async function pollDevices(server: BenchServer, options: { pending: number; seconds: number; sockets: number }): Promise<PollResult> {
  const endpoint = await deviceEndpoint(server);
  if (!endpoint) throw new Error(`${server.name} has no device authorization endpoint`);
  const agent = new Agent({ keepAlive: true, maxSockets: options.sockets });
  const authUrl = new URL(new URL(endpoint).pathname, server.url);
  const tokenUrl = new URL('/token', server.url);
  try {
    // Start the flows (not measured), a few at a time.
    const codes: string[] = [];
    let interval = 5;
    const start = async () => {
      while (codes.length < options.pending) {
        codes.push('');
        const i = codes.length - 1;
        const res = await post(agent, authUrl, `client_id=${DEVICE_CLIENT_ID}&scope=openid`);
        if (res.status !== 200) throw new Error(`${server.name}: device authorization answered ${res.status}: ${res.body.slice(0, 200)}`);
        const parsed = JSON.parse(res.body) as { device_code: string; interval?: number };
        codes[i] = parsed.device_code;
        interval = parsed.interval ?? 5;
      }
    };
    await Promise.all(Array.from({ length: options.sockets }, start));

    await server.eventLoopDelay(); // resets the server's histogram
    const latencies: number[] = [];
    let errors = 0;
    let unexpected = '';
    const began = performance.now();
    const until = began + options.seconds * 1000;
    const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
    // Each device starts at a random point of its first interval, so polls arrive evenly.
    const device = async (code: string) => {
      await sleep(Math.random() * Math.min(interval, options.seconds) * 1000);
      for (;;) {
        const t0 = performance.now();
        const res = await post(agent, tokenUrl, `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=${DEVICE_CLIENT_ID}&device_code=${code}`).catch((err: Error) => ({ status: 0, body: err.message }));
        latencies.push(performance.now() - t0);
        if (res.status !== 400 || !res.body.includes('"authorization_pending"')) {
          errors++;
          unexpected ||= `${res.status} ${res.body.slice(0, 200)}`;
        }
        if (performance.now() + interval * 1000 >= until) break;
        await sleep(interval * 1000);
      }
    };
    await Promise.all(codes.map(device));
    const elapsed = Math.min(options.seconds, (performance.now() - began) / 1000);
    const lag = await server.eventLoopDelay();
    if (errors) throw new Error(`${server.name}: ${errors} polls did not answer authorization_pending, e.g. ${unexpected}`);
    latencies.sort((a, b) => a - b);
    return {
      rps: Math.round(latencies.length / elapsed),
      p50: ms(percentile(latencies, 50)),
      p99: ms(percentile(latencies, 99)),
      max: ms(latencies.at(-1) ?? 0),
      requests: latencies.length,
      errors,
      non2xx: 0,
      pending: codes.length,
      interval,
      lag,
    };
  } finally {
    agent.destroy();
  }
}
