import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMongo, type MongoServer } from '../../helpers/mongodb.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const SECRET = 'svc-secret-0123456789abcdef-mongo';
const auth = `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`;
const form = { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' };

let mongo: MongoServer;
let dir: string;
let clientsFile: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

before(async () => {
  mongo = await startMongo();
  dir = mkdtempSync(join(tmpdir(), 'gh-mongo-fault-'));
  clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([{ client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }]));
  process.on('unhandledRejection', onUnhandled);
});
after(async () => {
  process.off('unhandledRejection', onUnhandled);
  await mongo.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function token(gh: TestServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gh.publicUrl}/token`, { method: 'POST', headers: form, body: 'grant_type=client_credentials' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function introspect(gh: TestServer, value: string): Promise<boolean> {
  const res = await fetch(`${gh.publicUrl}/token/introspection`, { method: 'POST', headers: form, body: `token=${value}` });
  assert.equal(res.status, 200);
  return ((await res.json()) as { active: boolean }).active;
}

const ready = async (gh: TestServer) => (await fetch(`${gh.publicUrl}/healthz/ready`)).status;

/** Polls until `check` returns true, failing at the deadline with the last value seen. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startServer(): Promise<TestServer> {
  return startTestServer({ MONGODB_URI: mongo.uri(), GATEHOUSE_MONGODB_TIMEOUT: '1s', GATEHOUSE_CLIENTS_FILE: clientsFile });
}

describe('MongoDB store: loss and recovery', () => {
  it('issues client_credentials tokens stored in MongoDB and introspects them', async () => {
    const gh = await startServer();
    try {
      assert.equal(gh.store.kind, 'mongodb');
      const t = await token(gh);
      assert.equal(t.status, 200, JSON.stringify(t.body));
      assert.equal(await introspect(gh, t.body.access_token as string), true);
      assert.equal(await ready(gh), 200);
    } finally {
      await gh.stop();
    }
  });

  it('database stopped under a stream of token requests: 503 temporarily_unavailable and readiness false, then resumes on its own, losing nothing', async (t) => {
    if (!mongo.local) return t.skip('TEST_MONGODB_URI names a server this test cannot stop');
    const gh = await startServer();
    try {
      const committed: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const r = await token(gh);
        assert.equal(r.status, 200);
        committed.push(r.body.access_token as string);
      }

      const seen: Array<{ status: number; error?: unknown }> = [];
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          const r = await token(gh);
          seen.push({ status: r.status, error: r.body.error });
        }
      })();
      const count = (status: number) => seen.filter((s) => s.status === status).length;

      await eventually('first tokens of the stream', async () => count(200) >= 3);
      await mongo.stop();
      await eventually('readiness false', async () => (await ready(gh)) === 503);
      await eventually('several 503s during the outage', async () => count(503) >= 3);
      const okBeforeRestart = count(200);

      await mongo.start();
      await eventually('tokens again after the restart', async () => count(200) > okBeforeRestart);
      await eventually('readiness true again', async () => (await ready(gh)) === 200);
      streaming = false;
      await stream;

      assert.deepEqual([...new Set(seen.map((s) => s.status))].sort(), [200, 503]);
      for (const s of seen.filter((x) => x.status === 503)) assert.equal(s.error, 'temporarily_unavailable');
      for (const value of committed) assert.equal(await introspect(gh, value), true, 'a token committed before the outage is still active');
      assert.deepEqual(unhandled, []);
      const events = gh.logs.map((l) => l.event);
      assert.ok(events.includes('store_unavailable'));
      assert.ok(events.includes('store_recovered'));
      const statuses = gh.logs.map((l) => (l.res as { status?: number } | undefined)?.status).filter((s) => s !== undefined);
      assert.ok(statuses.includes(503) && !statuses.includes(500), 'request logs show 503s and no 500');
    } finally {
      if (mongo.local) await mongo.start();
      await gh.stop();
    }
  });

  it('database paused (SIGSTOP, as in a partition) ~10 s under a token stream: 503 temporarily_unavailable within the timeout, readiness false, service resumes after SIGCONT', async (t) => {
    if (!mongo.local) return t.skip('TEST_MONGODB_URI names a server this test cannot pause');
    const TIMEOUT_SECONDS = 2;
    const gh = await startTestServer({ MONGODB_URI: mongo.uri(), GATEHOUSE_MONGODB_TIMEOUT: `${TIMEOUT_SECONDS}s`, GATEHOUSE_CLIENTS_FILE: clientsFile });
    let paused = false;
    try {
      assert.equal((await token(gh)).status, 200);
      const seen: Array<{ status: number; error?: unknown; ms: number; duringPause: boolean }> = [];
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          const started = Date.now();
          const duringPause = paused;
          const r = await token(gh);
          seen.push({ status: r.status, error: r.body.error, ms: Date.now() - started, duringPause: duringPause && paused });
        }
      })();
      const count = (status: number) => seen.filter((s) => s.status === status).length;
      await eventually('first tokens of the stream', async () => count(200) >= 3);

      mongo.pause();
      paused = true;
      const pausedAt = Date.now();
      await eventually('readiness false while paused', async () => (await ready(gh)) === 503);
      await eventually('several 503s while paused', async () => seen.filter((s) => s.duringPause && s.status === 503).length >= 3);
      // Hold the pause for ~10 s in all, so a request that waited for the server would be seen waiting.
      await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - pausedAt))));
      mongo.resume();
      paused = false;
      const okBefore = count(200);
      await eventually('tokens again after SIGCONT', async () => count(200) > okBefore);
      await eventually('readiness true again', async () => (await ready(gh)) === 200);
      streaming = false;
      await stream;

      const during = seen.filter((s) => s.duringPause);
      assert.ok(during.length >= 3);
      for (const s of during) {
        assert.equal(s.status, 503, JSON.stringify(s));
        assert.equal(s.error, 'temporarily_unavailable');
      }
      // Each answer is bounded by the store timeout (one store write per opaque token), not by
      // the pause: the margin is for this loaded machine, the pause is 10 s.
      const slowest = Math.max(...during.map((s) => s.ms));
      assert.ok(slowest < TIMEOUT_SECONDS * 1000 + 3000, `a request during the pause took ${slowest} ms`);
      assert.deepEqual(unhandled, []);
      assert.ok(gh.logs.some((l) => l.event === 'store_unavailable' && l.problem === 'timeout'));
      assert.ok(gh.logs.some((l) => l.event === 'store_recovered'));
    } finally {
      mongo.resume();
      await gh.stop();
    }
  });

  it('starts while the database is down (readiness false, 503) and becomes ready when it comes up', async (t) => {
    if (!mongo.local) return t.skip('TEST_MONGODB_URI names a server this test cannot stop');
    await mongo.stop();
    let gh: TestServer | undefined;
    try {
      gh = await startServer();
      assert.equal(await ready(gh), 503);
      const r = await token(gh);
      assert.equal(r.status, 503);
      assert.equal(r.body.error, 'temporarily_unavailable');
      const waiting = gh.logs.find((l) => l.event === 'store_unavailable');
      assert.equal(waiting?.problem, 'unreachable');
      assert.ok(gh.logs.some((l) => l.event === 'store_waiting'));
      assert.doesNotMatch(gh.logText(), /mongodb:\/\//, 'the URI (which may carry a password) is never logged');

      await mongo.start();
      const server = gh;
      await eventually('ready after the database starts', async () => (await ready(server)) === 200);
      assert.equal((await token(gh)).status, 200);
    } finally {
      await mongo.start();
      await gh?.stop();
    }
  });
});
