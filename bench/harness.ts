import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = join(import.meta.dirname, '..');
export const CLIENT_ID = 'bench';
export const CLIENT_SECRET = 'bench-secret-0123456789abcdefghij';
export const DEVICE_CLIENT_ID = 'bench-cli';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A server under test running in its own process, so the load generator does not share its CPU time slice. */
export interface BenchServer {
  name: string;
  url: string;
  child: ChildProcess;
  /** Event-loop delay since the last call (SIGUSR2 to the lag probe). */
  eventLoopDelay(): Promise<{ p50: number; p99: number; max: number }>;
  stop(): Promise<void>;
}

function spawnServer(name: string, args: string[], env: Record<string, string>, ready: (line: string) => boolean, url: string, cleanup?: () => void): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--import', join(ROOT, 'bench/servers/lag_probe.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lagWaiters: Array<(v: { p50: number; p99: number; max: number }) => void> = [];
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

export async function startBaseline(format: TokenFormat): Promise<BenchServer> {
  const port = await freePort();
  return spawnServer(`oidc-provider (${format})`, [join(ROOT, 'bench/servers/baseline.ts')], { BENCH_PORT: String(port), BENCH_TOKEN_FORMAT: format }, (l) => l.startsWith('ready'), `http://127.0.0.1:${port}`);
}

/** Gatehouse as operators run it (`gatehouse serve`, info logs), on a fresh data dir. */
export async function startGatehouse(env: Record<string, string> = {}): Promise<BenchServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const clients = join(dir, 'clients.json');
  writeFileSync(
    clients,
    JSON.stringify([
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    ]),
  );
  return spawnServer(
    `gatehouse (${env.GATEHOUSE_STORE ?? 'sqlite'})`,
    [join(ROOT, 'src/cli/main.ts'), 'serve'],
    {
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
      GATEHOUSE_DATA_DIR: join(dir, 'data'),
      GATEHOUSE_CERTS_DIR: join(dir, 'certs'),
      GATEHOUSE_MTLS_PORT: '0',
      GATEHOUSE_CLIENTS_FILE: clients,
      GATEHOUSE_LOG_LEVEL: 'info',
      GATEHOUSE_ADMIN_PORT: '0',
      ...env,
    },
    (l) => l.includes('"event":"listening"'),
    `http://127.0.0.1:${port}`,
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

export const basicAuth = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
