import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.ts';
import { startGatehouse, type Gatehouse } from '../../src/server/gatehouse.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { TestClock } from './clock.ts';
import { freePort } from './net.ts';

export { freePort };


export interface TestServer extends Gatehouse {
  /** Every log line written so far, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Raw log text, for grepping secrets. */
  logText(): string;
  dir: string;
  /** The clock the features read (pacing, expiry of their records); tests move it ahead instead of sleeping. */
  clock: TestClock;
  /** Closes the server and removes its temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts Gatehouse in this process on a free port, with a temp data dir and logs captured.
 * `env` overrides settings; by default the issuer is the real URL so browsers can follow it.
 * The features read `clock` (injected as startGatehouse's `now`).
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const clock = new TestClock();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const port = env.GATEHOUSE_PORT ? Number(env.GATEHOUSE_PORT) : await freePort();
  const mtlsPort = env.GATEHOUSE_MTLS_PORT ?? String(await freePort());
  const config = loadConfig({
    env: {
      GATEHOUSE_DATA_DIR: join(dir, 'data'),
      GATEHOUSE_CERTS_DIR: join(dir, 'certs'),
      GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
      GATEHOUSE_LOG_LEVEL: 'debug',
      GATEHOUSE_SHUTDOWN_TIMEOUT: '5s',
      GATEHOUSE_SHUTDOWN_DRAIN_DELAY: '0',
      GATEHOUSE_ADMIN_PORT: '0',
      GATEHOUSE_MTLS_ORIGIN: `https://localhost:${mtlsPort}`,
      GATEHOUSE_MTLS_RELOAD_INTERVAL: '1s',
      ...env,
      GATEHOUSE_MTLS_PORT: mtlsPort,
      GATEHOUSE_PORT: String(port),
    },
    envFile: false,
    cwd: dir,
  });
  const lines: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination });
  let gatehouse: Gatehouse;
  try {
    gatehouse = await startGatehouse(config, logger, { now: clock.now });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return Object.assign(gatehouse, {
    dir,
    clock,
    logs,
    logText: () => lines.join('\n'),
    async stop() {
      await gatehouse.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
