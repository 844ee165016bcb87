import assert from 'node:assert/strict';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PACE_MODEL, paceKey } from '../../../src/features/device_flow/poll_paces.ts';
import { SqliteStore } from '../../../src/storage/sqlite/sqlite_store.ts';
import { startServe } from '../../helpers/cli.ts';
import { freePort } from '../../helpers/server.ts';

const SECRET = 'drain-client-secret-3e8a1f0c6b';
const BODY = 'grant_type=client_credentials';
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Sent {
  sentAt: number;
  status: number;
  headers: IncomingHttpHeaders;
  reusedSocket: boolean;
  accessToken?: string;
  error?: string;
}

/** One token request; `holdBody` keeps part of the body back until the promise it gets resolves. */
function tokenRequest(port: number, agent: Agent | false, holdBody?: Promise<void>): Promise<Sent> {
  const sentAt = Date.now();
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/token',
        method: 'POST',
        agent,
        headers: { authorization: `Basic ${Buffer.from(`drain-svc:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(BODY.length) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let accessToken: string | undefined;
          try {
            accessToken = (JSON.parse(text) as { access_token?: string }).access_token;
          } catch {
            accessToken = undefined;
          }
          resolve({ sentAt, status: res.statusCode ?? 0, headers: res.headers, reusedSocket: req.reusedSocket, accessToken });
        });
        res.on('error', (err) => resolve({ sentAt, status: 0, headers: {}, reusedSocket: req.reusedSocket, error: err.message }));
      },
    );
    req.on('error', (err) => resolve({ sentAt, status: 0, headers: {}, reusedSocket: req.reusedSocket, error: err.message }));
    if (holdBody) {
      req.write(BODY.slice(0, 10));
      void holdBody.then(() => req.end(BODY.slice(10)));
    } else {
      req.end(BODY);
    }
  });
}

/** `gatehouse serve` on a free port with its own data directory and these static clients, once it listens. */
async function serveWith(prefix: string, clients: unknown[], env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  const port = await freePort();
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify(clients));
  const proc = startServe({
    GATEHOUSE_DATA_DIR: join(dir, 'data'),
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
    GATEHOUSE_CLIENTS_FILE: clientsFile,
    ...env,
  });
  await proc.waitForLog((l) => l.event === 'listening');
  return { dir, port, proc };
}

describe('graceful shutdown', () => {
  it('SIGTERM during a stream of keep-alive token requests: readiness drops, zero failed requests, in-flight ones finish, exit 0', async () => {
    const { port, proc } = await serveWith('gh-drain-', [{ client_id: 'drain-svc', client_secret: SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }], {
      GATEHOUSE_SHUTDOWN_DRAIN_DELAY: '2s',
      GATEHOUSE_SHUTDOWN_TIMEOUT: '10s',
      GATEHOUSE_TOKEN_RATE_LIMIT_IP: '0',
      GATEHOUSE_TOKEN_RATE_LIMIT_CLIENT: '0',
    });

    // The load balancer: probes readiness every 100 ms and takes the backend out after two 503s in a row.
    let removed = false;
    const balancer = (async () => {
      let failures = 0;
      while (failures < 2) {
        const ready = await fetch(`http://127.0.0.1:${port}/healthz/ready`).then(
          async (res) => (await res.arrayBuffer(), res.status === 200),
          () => false,
        );
        failures = ready ? 0 : failures + 1;
        if (failures < 2) await new Promise((r) => setTimeout(r, 100));
      }
      removed = true;
    })();

    // Clients behind it: keep-alive connections sending token requests until the backend is removed.
    const results: Sent[] = [];
    const agents = Array.from({ length: 4 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const streams = agents.map(async (agent) => {
      while (!removed) results.push(await tokenRequest(port, agent));
    });

    // A long-running request: its body is still arriving when the listener stops accepting.
    let releaseBody!: () => void;
    const slow = tokenRequest(port, false, new Promise<void>((r) => (releaseBody = r)));

    const deadline = Date.now() + 20_000;
    while (results.length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(results.length >= 100, 'the clients never got going');

    proc.child.kill('SIGTERM');
    const shutdownAt = Date.parse(String((await proc.waitForLog((l) => l.event === 'shutdown')).time));
    await proc.waitForLog((l) => l.event === 'shutdown.closing');
    releaseBody();
    const slowAnswer = await slow;
    await Promise.all([balancer, ...streams]);
    const code = await proc.exited;
    agents.forEach((a) => a.destroy());

    const failed = results.filter((r) => r.status !== 200 || !r.accessToken);
    assert.equal(failed.length, 0, `${failed.length} of ${results.length} requests failed, e.g. ${JSON.stringify(failed.slice(0, 3))}`);
    assert.ok(results.some((r) => r.reusedSocket), 'the clients did not keep connections alive');
    const duringShutdown = results.filter((r) => r.sentAt > shutdownAt);
    assert.ok(duringShutdown.length > 0, 'no request was sent while the load balancer was still noticing');
    for (const r of duringShutdown) assert.equal(r.headers.connection, 'close');

    assert.equal(slowAnswer.status, 200, slowAnswer.error);
    assert.ok(slowAnswer.accessToken);
    assert.equal(slowAnswer.headers.connection, 'close');

    assert.equal(code, 0);
    const events = proc.logs.map((l) => l.event);
    assert.ok(events.indexOf('shutdown') < events.indexOf('shutdown.drain_delay'));
    assert.ok(events.indexOf('shutdown.drain_delay') < events.indexOf('shutdown.closing'));
    assert.ok(events.indexOf('shutdown.closing') < events.indexOf('stopped'));
    // Log lines are written asynchronously in batches: the last request answered, and the
    // server's last line, must still have reached the log before the process exited.
    const lastReqId = slowAnswer.headers['x-request-id'];
    assert.ok(lastReqId, 'the last request carries a request id');
    const lastLine = proc.logs.find((l) => l.reqId === lastReqId && l.msg === 'request');
    assert.ok(lastLine, `no log line for the last request (${String(lastReqId)})`);
    assert.equal((lastLine.res as { status: number }).status, 200);
    assert.equal(lastLine.event, 'token.issued', 'the request line carries its audit event');
    assert.equal(events.at(-1), 'stopped');
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz/live`), 'no longer accepting connections');
  });

  it('SIGTERM right after a device poll: the poll\'s pace, kept in memory and flushed once a second, is in the store when the process has exited', async () => {
    const grant = 'urn:ietf:params:oauth:grant-type:device_code';
    const { dir, port, proc } = await serveWith('gh-drain-paces-', [{ client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: [grant], response_types: [], redirect_uris: [] }], {
      GATEHOUSE_SHUTDOWN_DRAIN_DELAY: '0s',
    });
    const issued = await fetch(`http://127.0.0.1:${port}/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: 'cli' }) });
    assert.equal(issued.status, 200);
    const { device_code: deviceCode } = (await issued.json()) as { device_code: string };
    const polled = await fetch(`http://127.0.0.1:${port}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: grant, device_code: deviceCode, client_id: 'cli' }) });
    assert.equal(((await polled.json()) as { error?: string }).error, 'authorization_pending');
    const polledAt = Date.now();
    // At once: the shutdown takes far less than the flush period, so without the shutdown's own
    // flush (the feature's close, run before the store closes) the poll would almost always be lost.
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, proc.stderr());

    const store = new SqliteStore(join(dir, 'data', 'gatehouse.db'));
    try {
      const pace = (await store.find(PACE_MODEL, paceKey(deviceCode))) as { lastPoll?: number; clientId?: string } | undefined;
      assert.equal(pace?.clientId, 'cli');
      assert.equal(typeof pace?.lastPoll, 'number', `the poll was not written before exit: ${JSON.stringify(pace)}`);
      assert.ok(pace!.lastPoll! <= polledAt && pace!.lastPoll! > polledAt - 10_000);
    } finally {
      await store.close();
    }
  });
});
