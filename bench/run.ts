// `npm run bench` (add `-- --smoke` for a few requests per scenario, `-- --only=<text>` for the
// scenarios whose name contains it): each scenario runs Gatehouse and its baseline in the same
// run, one after the other, and prints req/s, p50, p99 and the ratio. Servers are started once
// and reused by the scenarios that need the same kind (an idle server costs no CPU).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollDevices, deviceEndpoint } from './device.ts';
import { basicAuth, MTLS_CLIENT_ID, RESOURCES, ROOT, startBaseline, startGatehouse, startMongo, startTlsBaseline, type BenchServer, type TokenFormat } from './harness.ts';
import { load, type LoadResult } from './load.ts';

const smoke = process.argv.includes('--smoke');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const DURATION = smoke ? 1 : Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = smoke ? 2 : 20;
const DEVICE_PENDING = smoke ? 20 : 2000;
const DEVICE_SECONDS = smoke ? 1 : Number(process.env.BENCH_DEVICE_SECONDS ?? 15);

interface Row {
  scenario: string;
  system: string;
  result?: LoadResult;
  ratio?: number;
  /** Baseline server CPU per request ÷ this system's: the throughput ratio on an otherwise idle core. */
  cpuRatio?: number;
  /** Why this system was not measured (e.g. a feature not in this build). */
  unavailable?: string;
  extra?: Record<string, unknown>;
}
const rows: Row[] = [];

type Request = {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections?: number;
  /** Send to the server's mutual-TLS listener with the bench client certificate. */
  mtls?: boolean;
  /** mTLS: a new connection, so a full handshake, for every request (as most CLIs do). */
  handshakeEach?: boolean;
};

/** Runs one request shape against a system; a short warm-up first so JIT and caches settle. */
async function measure(server: BenchServer, req: Request): Promise<LoadResult> {
  const base = req.mtls ? server.mtlsUrl : server.url;
  if (!base || (req.mtls && !server.tls)) throw new Error(`${server.name} has no mutual-TLS listener`);
  const opts = {
    url: `${base}${req.path}`,
    method: req.method,
    headers: req.headers,
    body: req.body,
    connections: req.connections ?? CONNECTIONS,
    ...(req.mtls ? { tls: { cert: server.tls!.clientCert, key: server.tls!.clientKey } } : {}),
    handshakeEach: req.handshakeEach,
  };
  await load({ ...opts, duration: 1, amount: smoke ? 5 : 300 });
  await server.eventLoopDelay(); // starts the server's CPU and event-loop counters afresh
  const result = await load({ ...opts, duration: DURATION, amount: smoke ? 20 : undefined });
  const probe = await server.eventLoopDelay();
  if (result.errors || result.non2xx) throw new Error(`${server.name} ${req.path}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return { ...result, cpuPerRequest: Math.round(probe.cpuMicros / Math.max(1, result.requests)), lagP99: probe.p99, rssMB: probe.rssMB };
}

const servers = new Map<string, Promise<BenchServer>>();
/** One server per key for the whole run. */
function shared(key: string, start: () => Promise<BenchServer>): () => Promise<BenchServer> {
  return () => {
    if (!servers.has(key)) {
      const p = start();
      p.catch(() => {}); // a failed start is reported by whoever awaits it
      servers.set(key, p);
    }
    return servers.get(key)!;
  };
}

class Unavailable extends Error {}

async function compare(scenario: string, subject: () => Promise<BenchServer>, baseline: () => Promise<BenchServer>, req: Request | ((s: BenchServer) => Promise<Request>), subjectName?: string): Promise<void> {
  if (only && !scenario.includes(only)) return;
  let s: BenchServer;
  try {
    s = await subject();
  } catch (err) {
    if (!(err instanceof Unavailable)) throw err;
    const row = { scenario, system: subjectName ?? 'gatehouse', unavailable: err.message };
    rows.push(row);
    print([row]);
    return;
  }
  const server = await baseline();
  const base: Row = { scenario, system: server.name, ratio: 1, result: await measure(server, typeof req === 'function' ? await req(server) : req) };
  const sub: Row = { scenario, system: s.name, result: await measure(s, typeof req === 'function' ? await req(s) : req) };
  setRatios(base, sub);
  rows.push(base, sub);
  print([base, sub]);
}

const round2 = (v: number) => Math.round(v * 100) / 100;
function setRatios(base: Row, sub: Row): void {
  sub.ratio = round2(sub.result!.rps / base.result!.rps);
  if (base.result!.cpuPerRequest && sub.result!.cpuPerRequest) {
    base.cpuRatio = 1;
    sub.cpuRatio = round2(base.result!.cpuPerRequest / sub.result!.cpuPerRequest);
  }
}

function print(batch: Row[]): void {
  for (const r of batch) {
    const head = `${r.scenario.padEnd(40)} ${r.system.padEnd(30)}`;
    if (!r.result) {
      console.log(`${head} not available: ${r.unavailable}`);
      continue;
    }
    const lag = r.result.lagP99 ?? (r.extra?.lag as { p99: number } | undefined)?.p99;
    console.log(
      `${head} ${String(r.result.rps).padStart(6)} req/s  p50 ${String(r.result.p50).padStart(5)} ms  p99 ${String(r.result.p99).padStart(5)} ms  ratio ${r.ratio?.toFixed(2) ?? '-'}` +
        `  | cpu ${String(r.result.cpuPerRequest ?? '-').padStart(5)} µs/req  cpu ratio ${r.cpuRatio?.toFixed(2) ?? '-'}  loop lag p99 ${lag ?? '-'} ms  rss ${r.result.rssMB ?? '-'} MB`,
    );
  }
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const ccBody = (format: TokenFormat) => `grant_type=client_credentials${format === 'opaque' ? '' : `&resource=${encodeURIComponent(RESOURCES[format])}`}`;
const ccRequest = (format: TokenFormat) => async (server: BenchServer): Promise<Request> => ({ path: '/token', method: 'POST', headers: { authorization: server.authorization ?? basicAuth, ...form }, body: ccBody(format) });
const mtlsRequest = (handshakeEach: boolean): Request => ({
  path: '/token',
  method: 'POST',
  headers: form,
  body: `${ccBody('jwt-es256')}&client_id=${MTLS_CLIENT_ID}`,
  mtls: true,
  handshakeEach,
});

async function tokenFrom(server: BenchServer): Promise<string> {
  const req = await ccRequest('opaque')(server);
  const res = await fetch(`${server.url}/token`, { method: 'POST', headers: req.headers, body: req.body });
  if (!res.ok) throw new Error(`${server.name}: token request failed with ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

const baseline = (format: TokenFormat) => shared(`baseline-${format}`, () => startBaseline(format));
let noDeviceFlow: string | undefined;
const gatehouseSqlite = shared('gatehouse-sqlite', async () => {
  try {
    return await startGatehouse({ GATEHOUSE_STORE: 'sqlite' }, { deviceClient: true });
  } catch (err) {
    // A build without the device flow refuses a device_code client at start: measure the rest.
    if (!/device_code|grant_types/.test((err as Error).message)) throw err;
    noDeviceFlow = 'this build refuses a device_code client (no device flow)';
    return startGatehouse({ GATEHOUSE_STORE: 'sqlite' });
  }
});
const tlsBaseline = shared('tls-baseline', startTlsBaseline);

console.log(`Gatehouse benchmarks (${smoke ? 'smoke' : `${DURATION}s per run, ${CONNECTIONS} connections`})\n`);

// 1, 2 and 5: the token endpoint on each store.
let mongo: Awaited<ReturnType<typeof startMongo>>;
const gatehouseMongo = shared('gatehouse-mongodb', async () => {
  mongo = await startMongo().catch((err: Error) => {
    throw new Unavailable(`the MongoDB server did not start: ${err.message.split('\n')[0]}`);
  });
  if (!mongo) throw new Unavailable('neither TEST_MONGODB_URI nor .tools/bin/ferretdb (run test/setup/tools.sh)');
  try {
    return await startGatehouse({ GATEHOUSE_STORE: 'mongodb', MONGODB_URI: mongo.uri });
  } catch (err) {
    // This build may not have the mongodb store yet: Gatehouse refuses GATEHOUSE_STORE=mongodb.
    const msg = (err as Error).message;
    if (/GATEHOUSE_STORE/.test(msg)) throw new Unavailable(`this build has no mongodb store (${/GATEHOUSE_STORE: [^"\n]*/.exec(msg)?.[0]})`);
    throw err;
  }
});
const stores: Array<[string, () => Promise<BenchServer>]> = [['sqlite', gatehouseSqlite], ['mongodb', gatehouseMongo]];
for (const [store, gatehouse] of stores) {
  for (const format of ['opaque', 'jwt-es256', 'jwt-rs256'] as const) {
    await compare(`client_credentials ${format} (${store})`, gatehouse, baseline(format), ccRequest(format), `gatehouse (${store})`);
  }
  await compare(`mTLS keep-alive jwt-es256 (${store})`, gatehouse, tlsBaseline, mtlsRequest(false), `gatehouse (${store})`);
  await compare(`mTLS handshake/req jwt-es256 (${store})`, gatehouse, tlsBaseline, mtlsRequest(true), `gatehouse (${store})`);
}

// 3: device-code polling. The baseline keeps its device codes in a Map (its LRU would evict them).
if (!only || 'device polling'.includes(only)) {
  const scenario = `device polling ${DEVICE_PENDING} pending (sqlite)`;
  const batch: Row[] = [];
  const measureDevices = async (server: BenchServer): Promise<Row> => {
    const r = await pollDevices(server, { pending: DEVICE_PENDING, seconds: DEVICE_SECONDS, sockets: CONNECTIONS });
    const { lag, pending, interval, max, ...result } = r;
    return { scenario, system: server.name, result: { ...result, cpuPerRequest: Math.round(lag.cpuMicros / Math.max(1, result.requests)), lagP99: lag.p99, rssMB: lag.rssMB }, extra: { lag, pending, interval, maxLatency: max } };
  };
  const base = await startBaseline('opaque', { adapter: 'map' });
  try {
    batch.push({ ...(await measureDevices(base)), ratio: 1 });
  } finally {
    await base.stop();
  }
  const gh = await gatehouseSqlite();
  if (!noDeviceFlow && (await deviceEndpoint(gh))) {
    const row = await measureDevices(gh);
    setRatios(batch[0]!, row);
    batch.push(row);
  } else {
    batch.push({ scenario, system: gh.name, unavailable: noDeviceFlow ?? 'this build has no device flow (no device_authorization_endpoint in discovery)' });
  }
  rows.push(...batch);
  print(batch);
}

// 4: introspection, discovery, JWKS.
await compare('introspection (sqlite)', gatehouseSqlite, baseline('opaque'), async (server) => ({
  path: '/token/introspection',
  method: 'POST',
  headers: { authorization: server.authorization ?? basicAuth, ...form },
  body: `token=${await tokenFrom(server)}&token_type_hint=access_token`,
}));
await compare('discovery', gatehouseSqlite, baseline('opaque'), { path: '/.well-known/openid-configuration' });
await compare('jwks', gatehouseSqlite, baseline('opaque'), { path: '/jwks' });

for (const p of servers.values()) await p.then((s) => s.stop(), () => {});
await mongo?.stop();

const out = join(ROOT, 'bench', 'results');
mkdirSync(out, { recursive: true });
const file = join(out, smoke ? 'smoke.json' : 'latest.json');
writeFileSync(
  file,
  `${JSON.stringify({ date: new Date().toISOString(), smoke, duration: DURATION, connections: CONNECTIONS, devicePending: DEVICE_PENDING, deviceSeconds: DEVICE_SECONDS, node: process.version, rows }, null, 2)}\n`,
);
console.log(`\nwritten ${file}`);
