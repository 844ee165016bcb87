import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './cli.ts';
import { freePort, waitForPort } from './net.ts';
import { startPostgres, type PostgresServer } from './postgres.ts';

/**
 * A MongoDB-protocol server for one test file: the real MongoDB named by `TEST_MONGODB_URI`, or
 * a FerretDB 1.x built by test/setup/tools.sh on a PostgreSQL cluster of its own (Debian's
 * package, in a temp dir), both on ephemeral loopback ports.
 * Neither available is a failure, never a skip.
 */
export interface MongoServer {
  /** `true` for FerretDB started here; `false` for TEST_MONGODB_URI. */
  readonly local: boolean;
  /** A URI naming a database of its own; each call returns a fresh database name. */
  uri(database?: string): string;
  /** Stops the server (FerretDB only), keeping its data so `start()` brings it back. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory (FerretDB only). */
  start(): Promise<void>;
  /** Freezes the server process (SIGSTOP): connections stay open and nothing answers, as in a partition (FerretDB only). */
  pause(): void;
  /** Lets a paused server run again (SIGCONT). */
  resume(): void;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

const FERRETDB = join(ROOT, '.tools', 'bin', 'ferretdb');

function randomDb(): string {
  return `gatehouse_test_${randomBytes(6).toString('hex')}`;
}

/** Replaces the database path of a MongoDB URI, keeping credentials and options. */
function withDatabase(base: string, database: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(base);
  if (!m) throw new Error('TEST_MONGODB_URI is not a mongodb:// URI');
  return `${m[1]}/${database}${m[2] ?? ''}`;
}

export interface StartMongoOptions {
  /** FerretDB only: require SCRAM authentication with this user, created in `database`. */
  auth?: { database: string; username: string; password: string };
}

/** Starts (or names) the server. Call `dispose()` in an `after` hook. */
export async function startMongo(options: StartMongoOptions = {}): Promise<MongoServer> {
  const given = process.env.TEST_MONGODB_URI;
  if (given && !options.auth) {
    return {
      local: false,
      uri: (database = randomDb()) => withDatabase(given, database),
      async stop() {
        throw new Error('cannot stop the server named by TEST_MONGODB_URI');
      },
      async start() {
        throw new Error('cannot start the server named by TEST_MONGODB_URI');
      },
      pause() {
        throw new Error('cannot pause the server named by TEST_MONGODB_URI');
      },
      resume() {
        throw new Error('cannot resume the server named by TEST_MONGODB_URI');
      },
      async dispose() {},
    };
  }
  if (!existsSync(FERRETDB)) {
    throw new Error(`neither TEST_MONGODB_URI nor ${FERRETDB} is available: run test/setup/tools.sh (npm test does) or set TEST_MONGODB_URI`);
  }
  const version = spawnSync(FERRETDB, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`${FERRETDB} does not run: ${version.stderr}`);

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ferretdb-'));
  let postgres: PostgresServer;
  try {
    postgres = await startPostgres();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    output = '';
    const proc = spawn(
      FERRETDB,
      [
        '--handler=pg',
        `--postgresql-url=${postgres.url}`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${dir}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=WARN',
        ...(options.auth
          ? ['--test-enable-new-auth', `--setup-database=${options.auth.database}`, `--setup-username=${options.auth.username}`, `--setup-password=${options.auth.password}`]
          : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRETDB_TELEMETRY: 'disable', DO_NOT_TRACK: '1' } },
    );
    proc.stdout!.on('data', (d) => (output += d));
    proc.stderr!.on('data', (d) => (output += d));
    child = proc;
    await waitForPort(port, proc, () => output, 'ferretdb');
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await start();
  } catch (err) {
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    local: true,
    uri: (database = randomDb()) => `mongodb://127.0.0.1:${port}/${database}`,
    stop,
    start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async dispose() {
      child?.kill('SIGCONT');
      await stop();
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Drops a test database (used against TEST_MONGODB_URI, where databases outlive the test). */
export async function dropDatabase(uri: string): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db().dropDatabase();
  } finally {
    await client.close();
  }
}
