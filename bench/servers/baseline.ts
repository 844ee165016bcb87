// The baseline every token scenario is compared with: bare oidc-provider, its own in-memory
// adapter, one static client, the same token settings as the Gatehouse run, nothing else.
// Prints `ready <port>` when listening.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { type Configuration } from 'oidc-provider';

const mode = process.env.BENCH_TOKEN_FORMAT ?? 'opaque';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const alg = mode === 'jwt-rs256' ? 'RS256' : 'ES256';
const resource = 'https://api.bench.test';
const configuration: Configuration = {
  clients: [
    { client_id: 'bench', client_secret: 'bench-secret-0123456789abcdefghij', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
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
process.on('SIGTERM', () => server.close(() => process.exit(0)));
