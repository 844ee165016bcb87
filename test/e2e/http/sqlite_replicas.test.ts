import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopAll } from '../../helpers/cli.ts';
import { startReplicas, type Replica } from '../../helpers/replicas.ts';
import { freePort } from '../../helpers/server.ts';

const SECRET = 'svc-secret-0123456789abcdef-sqlite-replicas';
const form = { authorization: `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' };
/**
 * README ("Storage"): a server keeps access tokens it has looked up in memory, and drops every copy
 * within 50 ms of another process's commit to the file. Waiting well past it, then asking once,
 * shows the copy is dropped without timing anything (the exact bound is the unit test's).
 */
const PAST_THE_BOUND_MS = 200;
const listening = (l: Record<string, unknown>) => l.event === 'listening';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
const replicas: Replica[] = [];

/** Two `gatehouse serve` processes on one SQLite file (one host, e.g. two workers behind a local proxy). */
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-sqlite-replicas-'));
  const ports = [await freePort(), await freePort()];
  replicas.push(
    ...(await startReplicas({
      dir,
      sqliteFile: join(dir, 'shared.db'),
      issuer: `http://127.0.0.1:${ports[0]}`,
      ports,
      clients: [{ client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }],
    })),
  );
});

after(async () => {
  let statuses: Array<number | null> = [];
  try {
    statuses = await stopAll(replicas.map((r) => r.proc));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(statuses, replicas.map(() => 0), 'each server shuts down cleanly on SIGTERM');
});

async function post(base: string, path: string, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: form, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const introspect = async (base: string, token: string) => (await post(base, '/token/introspection', `token=${token}&token_type_hint=access_token`)).body;

describe('two Gatehouse processes on one SQLite file', () => {
  it('both use the sqlite store', async () => {
    for (const { proc } of replicas) assert.equal((await proc.waitForLog(listening)).store, 'sqlite');
  });

  it('a token introspected on both (so each keeps it in memory) and revoked on one is inactive on the other past the documented 50 ms', async () => {
    const [a, b] = replicas;
    const issued = await post(a!.base, '/token', 'grant_type=client_credentials');
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const token = issued.body.access_token as string;

    // Each server now holds the token in memory (read once); what it serves from memory is shown
    // in test/storage/sqlite.test.ts with a stopped clock, this checks the two processes.
    for (const { base } of [a!, b!]) assert.equal((await introspect(base, token)).active, true);
    const revoked = await fetch(`${b!.base}/token/revocation`, { method: 'POST', headers: form, body: `token=${token}` });
    assert.equal(revoked.status, 200);
    assert.equal((await introspect(b!.base, token)).active, false, 'the server that revoked it: at once');
    await pause(PAST_THE_BOUND_MS);
    assert.equal((await introspect(a!.base, token)).active, false, 'the other server, past the bound');
  });
});
