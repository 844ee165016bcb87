import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopAll } from '../../helpers/cli.ts';
import { startReplicas, type Replica } from '../../helpers/replicas.ts';
import { startMongo, type MongoServer } from '../../helpers/mongodb.ts';
import { freePort } from '../../helpers/server.ts';

const SECRET = 'svc-secret-0123456789abcdef-replicas';
const form = { authorization: `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' };
const REGISTRATION_LIMIT = 5;
/** GATEHOUSE_CLIENT_CACHE_TTL of both replicas: the documented bound for a client change made on the other one. */
const CLIENT_CACHE_SECONDS = 2;
const listening = (l: Record<string, unknown>) => l.event === 'listening';

let mongo: MongoServer;
let dir: string;
const replicas: Replica[] = [];

/**
 * Two `gatehouse serve` processes on one database, as two replicas behind a load balancer: same
 * issuer, same signing keys (GATEHOUSE_JWKS_FILE) and cookie keys, separate data directories.
 */
before(async () => {
  mongo = await startMongo();
  dir = mkdtempSync(join(tmpdir(), 'gh-replicas-'));
  const ports = [await freePort(), await freePort()];
  replicas.push(
    ...(await startReplicas({
      dir,
      mongodbUri: mongo.uri(),
      issuer: `http://127.0.0.1:${ports[0]}`,
      ports,
      clients: [{ client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }],
      env: { GATEHOUSE_MONGODB_TIMEOUT: '2s', GATEHOUSE_CLIENT_CACHE_TTL: `${CLIENT_CACHE_SECONDS}s`, GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_REGISTRATION_RATE_LIMIT: String(REGISTRATION_LIMIT) },
    })),
  );
});

after(async () => {
  let statuses: Array<number | null> = [];
  try {
    statuses = await stopAll(replicas.map((r) => r.proc));
  } finally {
    await mongo?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(statuses, replicas.map(() => 0), 'each replica shuts down cleanly on SIGTERM');
});

async function post(base: string, path: string, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: form, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('two Gatehouse processes on one MongoDB database', () => {
  it('both use the mongodb store and publish the same keys', async () => {
    for (const { proc } of replicas) assert.equal((await proc.waitForLog(listening)).store, 'mongodb');
    const [a, b] = await Promise.all(replicas.map(async (r) => (await (await fetch(`${r.base}/jwks`)).json()) as { keys: Array<{ kid: string }> }));
    assert.deepEqual(a!.keys.map((k) => k.kid).sort(), b!.keys.map((k) => k.kid).sort());
    for (const r of replicas) assert.equal((await fetch(`${r.base}/healthz/ready`)).status, 200);
  });

  it('a client_credentials token issued by one replica is active on the other; revoked on the other, it is inactive on the first', async () => {
    const [a, b] = replicas;
    const issued = await post(a!.base, '/token', 'grant_type=client_credentials');
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const token = issued.body.access_token as string;

    const onB = await post(b!.base, '/token/introspection', `token=${token}`);
    assert.equal(onB.body.active, true);
    assert.equal(onB.body.client_id, 'svc');
    assert.equal(onB.body.iss, `${a!.base}`);

    const revoked = await fetch(`${b!.base}/token/revocation`, { method: 'POST', headers: form, body: `token=${token}` });
    assert.equal(revoked.status, 200);
    assert.equal((await post(a!.base, '/token/introspection', `token=${token}`)).body.active, false);
  });

  it('tokens issued on both replicas in parallel are all visible on both', async () => {
    const issued = await Promise.all(Array.from({ length: 20 }, (_, i) => post(replicas[i % 2]!.base, '/token', 'grant_type=client_credentials')));
    assert.ok(issued.every((r) => r.status === 200));
    for (const { base } of replicas) {
      const seen = await Promise.all(issued.map((r) => post(base, '/token/introspection', `token=${r.body.access_token as string}`)));
      assert.ok(seen.every((s) => s.body.active === true));
    }
  });

  let registrations = 0;
  async function register(base: string): Promise<Response> {
    const res = await fetch(`${base}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [], response_types: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', client_name: 'replicated' }),
    });
    if (res.status === 201) registrations += 1;
    return res;
  }
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  it('a client registered on one replica gets tokens from the other, is managed there; deleted there it is refused there at once and on the first within the client cache TTL', async () => {
    const [a, b] = replicas;
    const res = await register(a!.base);
    assert.equal(res.status, 201);
    const client = (await res.json()) as Record<string, string>;
    const tokenFrom = (base: string) =>
      fetch(`${base}/token`, { method: 'POST', headers: { authorization: basic(client.client_id!, client.client_secret!), 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });

    assert.equal((await tokenFrom(b!.base)).status, 200);
    // A now holds the client in its cache, so the deletion on B must reach it through the TTL.
    assert.equal((await tokenFrom(a!.base)).status, 200);
    const registrationUri = client.registration_client_uri!.replace(a!.base, b!.base);
    const read = await fetch(registrationUri, { headers: { authorization: `Bearer ${client.registration_access_token!}` } });
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { client_name: string }).client_name, 'replicated');

    const deleted = await fetch(registrationUri, { method: 'DELETE', headers: { authorization: `Bearer ${client.registration_access_token!}` } });
    assert.equal(deleted.status, 204);
    const here = await tokenFrom(b!.base);
    assert.equal(here.status, 401, 'refused at once on the replica that deleted it');
    assert.equal(((await here.json()) as { error: string }).error, 'invalid_client');

    // The bound is the TTL; the deadline adds room for this loaded machine, and the loop stops at the first refusal.
    const deletedAt = Date.now();
    let gone = await tokenFrom(a!.base);
    while (gone.status === 200 && Date.now() - deletedAt < (CLIENT_CACHE_SECONDS + 10) * 1000) {
      await new Promise((r) => setTimeout(r, 100));
      gone = await tokenFrom(a!.base);
    }
    assert.equal(gone.status, 401, `still accepted on the other replica ${Date.now() - deletedAt} ms after the deletion`);
    assert.equal(((await gone.json()) as { error: string }).error, 'invalid_client');
  });

  it('the registration rate limit is counted across both replicas', async () => {
    let last: Response | undefined;
    for (let i = 0; i < REGISTRATION_LIMIT * 2 && last?.status !== 429; i += 1) last = await register(replicas[i % 2]!.base);
    assert.equal(last?.status, 429);
    assert.ok(Number(last!.headers.get('retry-after')) > 0);
    assert.equal(registrations, REGISTRATION_LIMIT, 'the limit applied to the sum of both replicas');
    for (const { base } of replicas) assert.equal((await register(base)).status, 429);
  });
});
