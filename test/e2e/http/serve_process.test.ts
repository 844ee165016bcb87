import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanEnv, ROOT, startServe } from '../../helpers/cli.ts';
import { freePort } from '../../helpers/server.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'gh-serve-'));
  dirs.push(dir);
  const port = await freePort();
  const clients = join(dir, 'clients.json');
  writeFileSync(clients, JSON.stringify([{ client_id: 'svc', client_secret: 'svc-secret-0123456789abcdef', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }]));
  const env = {
    GATEHOUSE_DATA_DIR: join(dir, 'data'),
    GATEHOUSE_CERTS_DIR: join(dir, 'certs'),
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_MTLS_PORT: '0',
    GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
    GATEHOUSE_CLIENTS_FILE: clients,
  };
  return { dir, port, env, base: `http://127.0.0.1:${port}` };
}

const listening = (l: Record<string, unknown>) => l.event === 'listening';
const auth = `Basic ${Buffer.from('svc:svc-secret-0123456789abcdef').toString('base64')}`;
const form = { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' };

describe('gatehouse serve as a process', () => {
  it('`npm start` serves discovery with the configured issuer', async () => {
    const { env, base } = await setup();
    const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...cleanEnv(), ...env, GATEHOUSE_ISSUER: 'http://gatehouse.test:8080' }, stdio: ['ignore', 'ignore', 'ignore'], detached: true });
    try {
      const deadline = Date.now() + 20_000;
      let body: { issuer?: string } | undefined;
      while (Date.now() < deadline && !body) {
        try {
          body = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as { issuer: string };
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(body?.issuer, 'http://gatehouse.test:8080');
    } finally {
      // npm does not always pass signals on: stop the whole process group.
      const closed = new Promise((r) => child.on('close', r));
      process.kill(-child.pid!, 'SIGTERM');
      await closed;
    }
  });

  it('a restart keeps the signing key ids and the stored tokens; generated keys are 0600', async () => {
    const { env, base, dir } = await setup();
    const first = startServe(env);
    await first.waitForLog(listening);
    const kids1 = ((await (await fetch(`${base}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).sort();
    const token = ((await (await fetch(`${base}/token`, { method: 'POST', headers: form, body: 'grant_type=client_credentials' })).json()) as { access_token: string }).access_token;
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.equal(statSync(join(dir, 'data', 'jwks.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'data', 'cookie-keys.json')).mode & 0o777, 0o600);

    const second = startServe(env);
    await second.waitForLog(listening);
    try {
      const kids2 = ((await (await fetch(`${base}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).sort();
      assert.deepEqual(kids2, kids1);
      const introspection = (await (await fetch(`${base}/token/introspection`, { method: 'POST', headers: form, body: `token=${token}` })).json()) as { active: boolean };
      assert.equal(introspection.active, true);
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  });

  it('SIGTERM lets in-flight requests complete, then exits 0', async () => {
    const { env, port } = await setup();
    const proc = startServe({ ...env, GATEHOUSE_SHUTDOWN_TIMEOUT: '10s' });
    await proc.waitForLog(listening);
    const body = 'grant_type=client_credentials';
    // A request whose body arrives slowly is in flight when the signal lands.
    const responses = Array.from({ length: 3 }, () =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/token', method: 'POST', headers: { ...form, 'content-length': String(body.length) } }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.write(body.slice(0, 5));
        setTimeout(() => req.end(body.slice(5)), 700);
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    proc.child.kill('SIGTERM');
    await proc.waitForLog((l) => l.event === 'shutdown');
    const done = await Promise.all(responses);
    for (const r of done) {
      assert.equal(r.status, 200, r.text);
      assert.ok((JSON.parse(r.text) as { access_token?: string }).access_token);
    }
    assert.equal(await proc.exited, 0);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz/live`), 'no longer accepting connections');
  });
});
