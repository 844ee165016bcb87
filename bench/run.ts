// `npm run bench` (add `-- --smoke` for a few requests per scenario): each scenario runs Gatehouse and
// its baseline in the same run, one after the other, and prints req/s, p50, p99 and the ratio.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicAuth, ROOT, startBaseline, startGatehouse, type BenchServer, type TokenFormat } from './harness.ts';
import { load, type LoadResult } from './load.ts';

const smoke = process.argv.includes('--smoke');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const DURATION = smoke ? 1 : Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = smoke ? 2 : 20;

interface Row {
  scenario: string;
  system: string;
  result: LoadResult;
  ratio?: number;
  extra?: Record<string, unknown>;
}
const rows: Row[] = [];

type Request = { path: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; connections?: number };

/** Runs one request shape against a system; a short warm-up first so JIT and caches settle. */
async function measure(server: BenchServer, req: Request): Promise<LoadResult> {
  const opts = { url: `${server.url}${req.path}`, method: req.method, headers: req.headers, body: req.body, connections: req.connections ?? CONNECTIONS };
  await load({ ...opts, duration: 1, amount: smoke ? 5 : 300 });
  const result = await load({ ...opts, duration: DURATION, amount: smoke ? 20 : undefined });
  if (result.errors || result.non2xx) throw new Error(`${server.name} ${req.path}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return result;
}

async function compare(scenario: string, subject: () => Promise<BenchServer>, baseline: () => Promise<BenchServer>, req: Request | ((s: BenchServer) => Promise<Request>)): Promise<void> {
  if (only && !scenario.includes(only)) return;
  const results: Row[] = [];
  for (const start of [baseline, subject]) {
    const server = await start();
    try {
      const r = typeof req === 'function' ? await req(server) : req;
      results.push({ scenario, system: server.name, result: await measure(server, r) });
    } finally {
      await server.stop();
    }
  }
  const [base, sub] = results as [Row, Row];
  sub.ratio = Math.round((sub.result.rps / base.result.rps) * 100) / 100;
  base.ratio = 1;
  rows.push(base, sub);
  print([base, sub]);
}

const ccRequest: Request = {
  path: '/token',
  method: 'POST',
  headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
  body: 'grant_type=client_credentials',
};

async function tokenFrom(server: BenchServer): Promise<string> {
  const res = await fetch(`${server.url}/token`, { method: 'POST', headers: ccRequest.headers, body: ccRequest.body });
  if (!res.ok) throw new Error(`${server.name}: token request failed with ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

function print(batch: Row[]): void {
  for (const r of batch) {
    console.log(
      `${r.scenario.padEnd(34)} ${r.system.padEnd(28)} ${String(r.result.rps).padStart(7)} req/s  p50 ${String(r.result.p50).padStart(4)} ms  p99 ${String(r.result.p99).padStart(4)} ms  ratio ${r.ratio?.toFixed(2) ?? '-'}`,
    );
  }
}

const tokenScenarios: Array<[string, TokenFormat]> = [['client_credentials opaque', 'opaque']];

console.log(`Gatehouse benchmarks (${smoke ? 'smoke' : `${DURATION}s per run, ${CONNECTIONS} connections`})\n`);
for (const [name, format] of tokenScenarios) {
  await compare(`${name} (sqlite)`, () => startGatehouse({ GATEHOUSE_STORE: 'sqlite' }), () => startBaseline(format), ccRequest);
}
await compare('introspection (sqlite)', () => startGatehouse(), () => startBaseline('opaque'), async (server) => ({
  path: '/token/introspection',
  method: 'POST',
  headers: ccRequest.headers,
  body: `token=${await tokenFrom(server)}&token_type_hint=access_token`,
}));
await compare('discovery', () => startGatehouse(), () => startBaseline('opaque'), { path: '/.well-known/openid-configuration' });
await compare('jwks', () => startGatehouse(), () => startBaseline('opaque'), { path: '/jwks' });

const out = join(ROOT, 'bench', 'results');
mkdirSync(out, { recursive: true });
const file = join(out, smoke ? 'smoke.json' : 'latest.json');
writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), smoke, duration: DURATION, connections: CONNECTIONS, node: process.version, rows }, null, 2)}\n`);
console.log(`\nwritten ${file}`);
