import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'bin', 'gatehouse.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `gatehouse` entry point to completion. */
export async function runCli(args: string[], options: { env?: Record<string, string>; input?: string | Buffer; cwd?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...cleanEnv(), ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(options.input ?? '');
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, stdout, stderr };
}

/**
 * The environment without any GATEHOUSE_* or MONGODB_URI the developer may have set, and with the
 * admin listener on a free port so parallel test servers never collide on its default, and no
 * drain delay on SIGTERM unless a test asks for one.
 */
export function cleanEnv(): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !k.startsWith('GATEHOUSE_') && k !== 'MONGODB_URI')) as Record<string, string>;
  return { ...env, GATEHOUSE_ADMIN_PORT: '0', GATEHOUSE_SHUTDOWN_DRAIN_DELAY: '0' };
}

export interface ServeProcess {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Resolves with the first log line that matches. */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/**
 * Unless a test says otherwise, a served process binds its mTLS listener to a free port and keeps
 * its development certificates next to its data dir, never in the repository's certs/.
 */
function isolatedMtls(env: Record<string, string>): Record<string, string> {
  return {
    GATEHOUSE_MTLS_PORT: '0',
    ...(env.GATEHOUSE_DATA_DIR ? { GATEHOUSE_CERTS_DIR: join(env.GATEHOUSE_DATA_DIR, '..', 'certs') } : {}),
  };
}

/** Starts `gatehouse serve` as a child process, capturing its JSON logs. */
export function startServe(env: Record<string, string>, args: string[] = ['serve']): ServeProcess {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...cleanEnv(), ...isolatedMtls(env), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = { raw: line };
    }
    logs.push(parsed);
    for (const w of [...waiters]) {
      if (w.pred(parsed)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(pred, timeoutMs = 15_000) {
      const seen = logs.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}\nlogs: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
        const w = { pred, resolve: (l: Record<string, unknown>) => (clearTimeout(timer), resolve(l)) };
        waiters.push(w);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`process exited before the log line; stderr: ${stderr}`));
        });
      });
    },
  };
}

/**
 * SIGTERM to every process at once, SIGKILL to any still running after `graceMs`; resolves with
 * each exit status (null when killed by a signal), so a failing test never leaves servers behind.
 */
export async function stopAll(procs: ServeProcess[], graceMs = 15_000): Promise<Array<number | null>> {
  for (const p of procs) p.child.kill('SIGTERM');
  const timer = setTimeout(() => procs.forEach((p) => p.child.kill('SIGKILL')), graceMs);
  try {
    return await Promise.all(procs.map((p) => p.exited));
  } finally {
    clearTimeout(timer);
  }
}
