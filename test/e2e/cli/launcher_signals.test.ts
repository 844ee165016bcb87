// bin/gatehouse.js re-runs the CLI under the pinned Node 24 when an older node started it (npx,
// a Node 20 first on PATH). That wrapper must stand in for the server: a SIGTERM sent to it (by
// `kill`, a process manager, a script holding its pid) has to stop the server, not orphan it.
// So must `npm start`: npm runs the script through sh, which (dash) would not pass the signal on,
// so the script execs node.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanEnv, ROOT } from '../../helpers/cli.ts';
import { freePort } from '../../helpers/server.ts';

/** Pids of the direct children of `pid` (procps `ps`). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function ready(url: string, deadline: number): Promise<void> {
  for (;;) {
    const r = await fetch(url).catch(() => undefined);
    if (r?.ok) return;
    if (Date.now() > deadline) throw new Error(`${url} never became ready`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('SIGTERM reaches the server through its launchers (bin/relaunch.js under Node < 24, npm start)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-relaunch-'));
  const leftovers: number[] = [];
  after(() => {
    for (const pid of leftovers) try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes SIGTERM on to `gatehouse serve`, which drains and stops; the wrapper exits 0 as the server did', async () => {
    const port = await freePort();
    // The same call bin/gatehouse.js makes, with the pinned node as the one relaunched.
    const script = `import { relaunch } from ${JSON.stringify(join(ROOT, 'bin', 'relaunch.js'))};
relaunch(process.execPath, [${JSON.stringify(join(ROOT, 'src', 'cli', 'main.ts'))}, 'serve']);`;
    const wrapper = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dir,
      env: { ...cleanEnv(), GATEHOUSE_PORT: String(port), GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`, GATEHOUSE_MTLS_ENABLED: 'false', GATEHOUSE_STORE: 'memory', GATEHOUSE_DATA_DIR: join(dir, 'data') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    wrapper.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => wrapper.on('exit', (code, signal) => resolve({ code, signal })));
    await ready(`http://127.0.0.1:${port}/healthz/ready`, Date.now() + 120_000);
    const server = childrenOf(wrapper.pid!);
    assert.equal(server.length, 1, 'the wrapper runs the server as its one child');
    leftovers.push(...server);

    wrapper.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
    // The server is gone with it: nothing answers on its port any more.
    const after = await fetch(`http://127.0.0.1:${port}/healthz/live`).then((r) => r.status, (e: Error) => e.name);
    assert.equal(after, 'TypeError', 'connection refused: no orphaned server left serving');
  });

  it('`npm start` (npm runs the script through sh) passes SIGTERM on too: the server drains and exits, no orphan keeps the port', async () => {
    const port = await freePort();
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { ...cleanEnv(), PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, GATEHOUSE_PORT: String(port), GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`, GATEHOUSE_MTLS_ENABLED: 'false', GATEHOUSE_STORE: 'memory', GATEHOUSE_ADMIN_PORT: '0', GATEHOUSE_SHUTDOWN_DRAIN_DELAY: '0', GATEHOUSE_DATA_DIR: join(dir, 'npm-data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (d) => (output += d));
    npm.stderr.on('data', (d) => (output += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => npm.on('exit', (code, signal) => resolve({ code, signal })));
    await ready(`http://127.0.0.1:${port}/healthz/ready`, Date.now() + 120_000);
    const children = childrenOf(npm.pid!);
    leftovers.push(...children, ...children.flatMap(childrenOf));
    // A form POST, the request that makes oidc-provider print its plain-text "already parsed" warning.
    await fetch(`http://127.0.0.1:${port}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=x&client_secret=y' });
    npm.kill('SIGTERM');
    await exited;
    const after = await fetch(`http://127.0.0.1:${port}/healthz/live`).then((r) => r.status, (e: Error) => e.name);
    assert.equal(after, 'TypeError', `connection refused: no orphaned server left serving\n${output}`);
    assert.match(output, /"event":"shutdown"/, 'the server itself got the signal and drained');
    // Every line the server wrote is a JSON event (npm's own "> gatehouse@… start" banner aside).
    const serverLines = output.split('\n').filter((l) => l.trim() && !l.startsWith('>'));
    for (const line of serverLines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
  });
});
