// The baseline every token scenario is compared with: bare oidc-provider, its own in-memory
// adapter, one static client, the same token settings as the Gatehouse run, nothing else.
// BENCH_ADAPTER=map swaps the built-in MemoryAdapter (an LRU of ~1,000 entries that evicts
// pending device codes under load) for an unbounded Map, so 2,000 device flows stay pending.
// Prints `ready <port>` when listening.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';

const mode = process.env.BENCH_TOKEN_FORMAT ?? 'opaque';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const alg = mode === 'jwt-rs256' ? 'RS256' : 'ES256';
const resource = 'https://api.bench.test';
const entries = new Map<string, { payload: AdapterPayload; expires: number }>();
const live = (key: string) => {
  const e = entries.get(key);
  if (e && e.expires < Date.now()) entries.delete(key);
  return e && e.expires >= Date.now() ? e.payload : undefined;
};
/** The smallest correct adapter: a Map keyed by model and id, with expiry; no eviction. */
class MapAdapter implements Adapter {
  model: string;
  constructor(model: string) {
    this.model = model;
  }
  async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
    entries.set(`${this.model}:${id}`, { payload, expires: Date.now() + expiresIn * 1000 });
    if (payload.userCode) entries.set(`userCode:${payload.userCode}`, { payload: { id } as AdapterPayload, expires: Date.now() + expiresIn * 1000 });
  }
  async find(id: string) {
    return live(`${this.model}:${id}`);
  }
  async findByUserCode(userCode: string) {
    const ref = live(`userCode:${userCode}`);
    return ref ? this.find(ref.id as string) : undefined;
  }
  async findByUid(uid: string) {
    for (const [key, e] of entries) if (key.startsWith(`${this.model}:`) && e.payload.uid === uid) return live(key);
    return undefined;
  }
  async consume(id: string) {
    const p = live(`${this.model}:${id}`);
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    entries.delete(`${this.model}:${id}`);
  }
  async revokeByGrantId(grantId: string) {
    for (const [key, e] of entries) if (e.payload.grantId === grantId) entries.delete(key);
  }
}

const configuration: Configuration = {
  ...(process.env.BENCH_ADAPTER === 'map' ? { adapter: MapAdapter } : {}),
  clients: [
    { client_id: 'bench', client_secret: 'bench-secret-0123456789abcdefghij', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    { client_id: 'bench-cli', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], response_types: [], redirect_uris: [] },
  ],
  jwks: { keys: [{ ...rsa, kid: 'rsa', alg: 'RS256', use: 'sig' }, { ...ec, kid: 'ec', alg: 'ES256', use: 'sig' }] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    deviceFlow: { enabled: true },
    resourceIndicators: {
      enabled: mode !== 'opaque',
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api', accessTokenFormat: 'jwt', jwt: { sign: { alg } } }),
    },
  },
};
const provider = new Provider(`http://127.0.0.1:${process.env.BENCH_PORT}`, configuration);
const server = createServer({ keepAliveTimeout: 65_000 }, provider.callback());
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1', () => {
  process.stdout.write(`ready ${process.env.BENCH_PORT}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
