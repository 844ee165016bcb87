import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMongo, type MongoServer } from '../../helpers/mongodb.ts';
import { startWireCounter, type WireCommand } from '../../helpers/mongo_wire_counter.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const STATIC_SECRET = 'static-secret-0123456789abcdef-rt';
const JWT_RESOURCE = 'https://api.round-trips.test';
/** Commands a driver sends on its own (connection handshakes, heartbeats, sessions), not for a request. */
const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'saslStart', 'saslContinue', 'buildInfo', 'buildinfo']);

let mongo: MongoServer;
let counter: Awaited<ReturnType<typeof startWireCounter>>;
let gh: TestServer;
let dir: string;
let registered: { client_id: string; client_secret: string };

before(async () => {
  mongo = await startMongo();
  const { hostname, port } = new URL(mongo.uri().replace(/^mongodb:/, 'http:'));
  counter = await startWireCounter({ host: hostname, port: Number(port) });
  dir = mkdtempSync(join(tmpdir(), 'gh-round-trips-'));
  const clients = join(dir, 'clients.json');
  writeFileSync(clients, JSON.stringify([{ client_id: 'static-svc', client_secret: STATIC_SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }]));
  const resources = join(dir, 'resources.json');
  writeFileSync(resources, JSON.stringify({ [JWT_RESOURCE]: { scope: 'api', accessTokenFormat: 'jwt', signingAlg: 'ES256' } }));
  const db = new URL(mongo.uri().replace(/^mongodb:/, 'http:')).pathname;
  gh = await startTestServer({
    MONGODB_URI: `mongodb://127.0.0.1:${counter.port}${db}`,
    GATEHOUSE_CLIENTS_FILE: clients,
    GATEHOUSE_RESOURCE_SERVERS_FILE: resources,
    GATEHOUSE_REGISTRATION: 'open',
    GATEHOUSE_CLIENT_CACHE_TTL: '300s',
    GATEHOUSE_LOG_LEVEL: 'info',
  });
  const res = await fetch(`${gh.publicUrl}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [], response_types: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', client_name: 'round trips' }),
  });
  assert.equal(res.status, 201);
  registered = (await res.json()) as typeof registered;
});

after(async () => {
  await gh?.stop();
  await counter?.close();
  await mongo?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function token(clientId: string, secret: string, resource?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${gh.publicUrl}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials${resource ? `&resource=${encodeURIComponent(resource)}` : ''}`,
  });
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

/**
 * The commands sent while `fn` ran, without the driver's housekeeping; the rate-limit counters'
 * commands apart (`flush`): they must not grow with the requests.
 */
async function commandsDuring(fn: () => Promise<void>): Promise<{ request: WireCommand[]; flush: WireCommand[] }> {
  const from = counter.commands.length;
  await fn();
  const sent = counter.commands.slice(from).filter((c) => !HOUSEKEEPING.has(c.command));
  const isFlush = (c: WireCommand) => c.collection?.startsWith('counter_') ?? false;
  return { request: sent.filter((c) => !isFlush(c)), flush: sent.filter(isFlush) };
}

const N = 20;

describe('store round trips per token request on MongoDB (counted on the wire)', () => {
  it('JWT client_credentials, static client: none', async () => {
    await token('static-svc', STATIC_SECRET, JWT_RESOURCE);
    const { request, flush } = await commandsDuring(async () => {
      for (let i = 0; i < N; i++) await token('static-svc', STATIC_SECRET, JWT_RESOURCE);
    });
    assert.deepEqual(request, []);
    assert.ok(flush.length < N, `${flush.length} rate-limit commands for ${N} requests`);
  });

  it('JWT client_credentials, registered client once cached: none', async () => {
    await token(registered.client_id, registered.client_secret, JWT_RESOURCE);
    const { request, flush } = await commandsDuring(async () => {
      for (let i = 0; i < N; i++) await token(registered.client_id, registered.client_secret, JWT_RESOURCE);
    });
    assert.deepEqual(request, []);
    assert.ok(flush.length < N, `${flush.length} rate-limit commands for ${N} requests`);
  });

  it('opaque client_credentials: one (the token insert)', async () => {
    await token(registered.client_id, registered.client_secret);
    const { request, flush } = await commandsDuring(async () => {
      for (let i = 0; i < N; i++) await token(registered.client_id, registered.client_secret);
    });
    assert.equal(request.length, N, JSON.stringify(request));
    assert.ok(request.every((c) => c.command === 'insert' && c.collection === 'records'), JSON.stringify(request));
    // The rate limits reach the store only through their flushes: a few per second, not per request.
    assert.ok(flush.length < N, `${flush.length} rate-limit commands for ${N} requests`);
  });
});

describe('store round trips per introspection on MongoDB (counted on the wire)', () => {
  it('an opaque client_credentials token, hint access_token: one (its AccessToken and ClientCredentials lookups in one find)', async () => {
    const issued = await token(registered.client_id, registered.client_secret);
    const introspect = async (value: string) => {
      const res = await fetch(`${gh.publicUrl}/token/introspection`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${registered.client_id}:${registered.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${encodeURIComponent(value)}&token_type_hint=access_token`,
      });
      assert.equal(res.status, 200);
      return (await res.json()) as { active: boolean; client_id?: string };
    };
    assert.equal((await introspect(String(issued.access_token))).active, true);
    const { request } = await commandsDuring(async () => {
      for (let i = 0; i < N; i++) assert.equal((await introspect(String(issued.access_token))).active, true);
    });
    assert.equal(request.length, N, JSON.stringify(request));
    assert.ok(request.every((c) => c.command === 'find' && c.collection === 'records'), JSON.stringify(request));
    // An unknown token is inactive after two: the same pair, then oidc-provider's RefreshToken lookup
    // (token_find.js asks for it only once the pair found nothing). Three before the pair was one.
    const unknown = await commandsDuring(async () => assert.equal((await introspect('no-such-token-0123456789')).active, false));
    assert.equal(unknown.request.length, 2, JSON.stringify(unknown.request));
  });
});
