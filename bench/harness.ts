import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { initDevPki, issueClientCertificate } from '../src/pki/dev_pki.ts';
import { startMongo as startTestMongo } from '../test/helpers/mongodb.ts';
import { freePort } from '../test/helpers/net.ts';

export const ROOT = join(import.meta.dirname, '..');
export const CLIENT_ID = 'bench';
export const CLIENT_SECRET = 'bench-secret-0123456789abcdefghij';
export const DEVICE_CLIENT_ID = 'bench-cli';
export const MTLS_CLIENT_ID = 'bench-mtls';
/** Resource indicators the Gatehouse runs know (GATEHOUSE_RESOURCE_SERVERS_FILE); the baseline accepts any. */
export const RESOURCES = { 'jwt-es256': 'https://es256.bench.test', 'jwt-rs256': 'https://rs256.bench.test' } as const;

/** A client certificate for the mTLS scenarios, issued by the development CA the server trusts. */
export interface TlsMaterial {
  certsDir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A development PKI (our own `certs init` code) and one client certificate for `bench-mtls`. */
export async function benchPki(dir: string): Promise<TlsMaterial> {
  const certsDir = join(dir, 'certs');
  await initDevPki(certsDir);
  const client = await issueClientCertificate(certsDir, MTLS_CLIENT_ID, { sans: { dns: ['bench-mtls.clients.bench.test'] }, days: 2, outDir: join(dir, 'client') });
  return {
    certsDir,
    ca: join(certsDir, 'root_ca.crt'),
    serverCert: join(certsDir, 'server.crt'),
    serverKey: join(certsDir, 'server.key'),
    clientCert: client.certPath,
    clientKey: client.keyPath,
  };
}


export interface Probe {
  p50: number;
  p99: number;
  max: number;
  cpuMicros: number;
  /** Resident memory (MB) when the probe answered. */
  rssMB: number;
}

/** A server under test running in its own process, so the load generator does not share its CPU time slice. */
export interface BenchServer {
  name: string;
  url: string;
  /** The mutual-TLS listener, when the server has one. */
  mtlsUrl?: string;
  tls?: TlsMaterial;
  /** Basic credentials of the client the token scenarios use on this server (default `basicAuth`). */
  authorization?: string;
  child: ChildProcess;
  /** Event-loop delay (ms) and CPU time used (µs) since the last call (SIGUSR2 to the lag probe). */
  eventLoopDelay(): Promise<Probe>;
  stop(): Promise<void>;
}

function spawnServer(name: string, args: string[], env: Record<string, string>, ready: (line: string) => boolean, url: string, cleanup?: () => void, extra: (line: string) => Partial<BenchServer> = () => ({})): Promise<BenchServer> {
  const child = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), '--import', join(ROOT, 'bench/servers/lag_probe.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lagWaiters: Array<(v: Probe) => void> = [];
  let stderr = '';
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.startsWith('{"eventLoopDelay"')) lagWaiters.shift()?.(JSON.parse(line).eventLoopDelay);
    else stderr += `${line}\n`;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${stderr}`)), 30_000);
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!ready(line)) return;
      clearTimeout(timer);
      resolve({
        name,
        url,
        ...extra(line),
        child,
        eventLoopDelay: () =>
          new Promise((res) => {
            lagWaiters.push(res);
            child.kill('SIGUSR2');
          }),
        stop: () =>
          new Promise((res) => {
            child.removeAllListeners('exit');
            child.once('exit', () => {
              cleanup?.();
              res();
            });
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

export type TokenFormat = 'opaque' | 'jwt-es256' | 'jwt-rs256';

/**
 * Bare oidc-provider. `adapter: 'map'` swaps its LRU MemoryAdapter (about 1,000 entries, which
 * evicts pending device codes under load) for an unbounded Map, for the device polling scenario.
 */
export async function startBaseline(format: TokenFormat, options: { adapter?: 'lru' | 'map' } = {}): Promise<BenchServer> {
  const port = await freePort();
  const adapter = options.adapter ?? 'lru';
  return spawnServer(
    `oidc-provider (${format}${adapter === 'map' ? ', map' : ''})`,
    [join(ROOT, 'bench/servers/baseline.ts')],
    { BENCH_PORT: String(port), BENCH_TOKEN_FORMAT: format, BENCH_ADAPTER: adapter },
    (l) => l.startsWith('ready'),
    `http://127.0.0.1:${port}`,
  );
}

/** Bare oidc-provider doing `tls_client_auth` itself on `node:https` with the mTLS listener's certificates. */
export async function startTlsBaseline(): Promise<BenchServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-tls-'));
  const tls = await benchPki(dir);
  return spawnServer(
    'oidc-provider (node:https, tls_client_auth)',
    [join(ROOT, 'bench/servers/tls_baseline.ts')],
    { BENCH_PORT: String(port), BENCH_TLS_CERT: tls.serverCert, BENCH_TLS_KEY: tls.serverKey, BENCH_TLS_CA: tls.ca },
    (l) => l.startsWith('ready'),
    `https://localhost:${port}`,
    () => rmSync(dir, { recursive: true, force: true }),
    () => ({ mtlsUrl: `https://localhost:${port}`, tls }),
  );
}

export interface GatehouseOptions {
  /** Adds the public device-flow client `bench-cli` (only when the build has the device flow). */
  deviceClient?: boolean;
  /** Name suffix in the table. */
  label?: string;
}

/**
 * Gatehouse as operators run it (`gatehouse serve`, info logs), on a fresh data dir, with a
 * client_secret_basic client, a tls_client_auth client on the mTLS listener (development PKI) and
 * two resource servers that get JWT access tokens (ES256 and RS256).
 */
export async function startGatehouse(env: Record<string, string> = {}, options: GatehouseOptions = {}): Promise<BenchServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const tls = await benchPki(dir);
  const clients = join(dir, 'clients.json');
  writeFileSync(
    clients,
    JSON.stringify([
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      {
        client_id: MTLS_CLIENT_ID,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_dns: 'bench-mtls.clients.bench.test',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
      ...(options.deviceClient
        ? [{ client_id: DEVICE_CLIENT_ID, token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], response_types: [], redirect_uris: [] }]
        : []),
    ]),
  );
  const resources = join(dir, 'resources.json');
  writeFileSync(
    resources,
    JSON.stringify({
      [RESOURCES['jwt-es256']]: { scope: 'api', accessTokenFormat: 'jwt', signingAlg: 'ES256' },
      [RESOURCES['jwt-rs256']]: { scope: 'api', accessTokenFormat: 'jwt', signingAlg: 'RS256' },
    }),
  );
  const server = await spawnServer(
    `gatehouse (${env.GATEHOUSE_STORE ?? 'sqlite'}${options.label ? `, ${options.label}` : ''})`,
    [join(ROOT, 'src/cli/main.ts'), 'serve'],
    {
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
      GATEHOUSE_REGISTRATION: 'open',
      GATEHOUSE_DATA_DIR: join(dir, 'data'),
      GATEHOUSE_CERTS_DIR: tls.certsDir,
      GATEHOUSE_MTLS_PORT: '0',
      GATEHOUSE_CLIENTS_FILE: clients,
      GATEHOUSE_RESOURCE_SERVERS_FILE: resources,
      GATEHOUSE_LOG_LEVEL: 'info',
      GATEHOUSE_ADMIN_PORT: '0',
      // One load generator on one IP would hit the default limits within a second. The limiters
      // stay on (their store counters are part of what a request costs), never reaching the limit.
      GATEHOUSE_TOKEN_RATE_LIMIT_IP: '100000000',
      GATEHOUSE_TOKEN_RATE_LIMIT_CLIENT: '100000000',
      GATEHOUSE_DEVICE_RATE_LIMIT_IP: '100000000',
      GATEHOUSE_DEVICE_RATE_LIMIT_CLIENT: '100000000',
      ...env,
    },
    (l) => l.includes('"event":"listening"'),
    `http://127.0.0.1:${port}`,
    () => rmSync(dir, { recursive: true, force: true }),
    (l) => ({ mtlsUrl: (JSON.parse(l) as { mtlsUrl?: string }).mtlsUrl, tls }),
  );
  // The token scenarios use a dynamically registered client (read through the store and the
  // client cache), as most deployments do; the static ones above serve mTLS and device polling.
  const res = await fetch(`${server.url}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'bench', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', response_types: [], redirect_uris: [] }),
  });
  if (res.status !== 201) {
    await server.stop();
    throw new Error(`registering the bench client failed: ${res.status} ${await res.text()}`);
  }
  const client = (await res.json()) as { client_id: string; client_secret: string };
  return { ...server, authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` };
}

/**
 * A MongoDB to run Gatehouse's mongodb store on: `TEST_MONGODB_URI`, else FerretDB on a PostgreSQL
 * cluster of its own (the test helper's), or undefined when `.tools/bin/ferretdb` is not built.
 */
export async function startMongo(): Promise<{ uri: string; label: string; stop(): Promise<void> } | undefined> {
  if (!process.env.TEST_MONGODB_URI && !existsSync(join(ROOT, '.tools', 'bin', 'ferretdb'))) return undefined;
  const server = await startTestMongo();
  return { uri: server.uri(`gatehouse_bench_${process.pid}`), label: server.local ? 'FerretDB on PostgreSQL' : 'TEST_MONGODB_URI', stop: () => server.dispose() };
}

export const basicAuth = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
