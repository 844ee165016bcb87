// The baseline of the mTLS scenarios: bare oidc-provider doing RFC 8705 `tls_client_auth` itself
// (its own mTLS feature, certificate-bound tokens) on a node:https listener with the same
// certificates as Gatehouse's mutual-TLS listener (server certificate from the development PKI,
// requestCert, the development CA trusted, no renegotiation), issuing the same JWT ES256 access
// token. The chain is checked by node's TLS stack (`socket.authorized`), the subject by comparing
// the certificate's DNS SANs with the registered value. Prints `ready <port>` when listening.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import Provider, { type Configuration } from 'oidc-provider';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const port = Number(process.env.BENCH_PORT);
const socketOf = (ctx: { socket: unknown }) => ctx.socket as TLSSocket;

const configuration: Configuration = {
  clients: [
    {
      client_id: 'bench-mtls',
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_san_dns: 'bench-mtls.clients.bench.test',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  clientAuthMethods: ['client_secret_basic', 'tls_client_auth'],
  jwks: { keys: [{ ...rsa, kid: 'rsa', alg: 'RS256', use: 'sig' }, { ...ec, kid: 'ec', alg: 'ES256', use: 'sig' }] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    mTLS: {
      enabled: true,
      tlsClientAuth: true,
      certificateBoundAccessTokens: true,
      getCertificate: (ctx) => {
        const raw = socketOf(ctx).getPeerCertificate(false)?.raw;
        return raw ? new X509Certificate(raw) : undefined;
      },
      certificateAuthorized: (ctx) => socketOf(ctx).authorized,
      certificateSubjectMatches: (ctx, property, expected) => {
        if (property !== 'tls_client_auth_san_dns') return false;
        const san = socketOf(ctx).getPeerCertificate(false)?.subjectaltname ?? '';
        return san.split(', ').includes(`DNS:${expected}`);
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'https://api.bench.test',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
    },
  },
};
const provider = new Provider(`https://localhost:${port}`, configuration);
const server = createServer(
  {
    cert: readFileSync(process.env.BENCH_TLS_CERT!),
    key: readFileSync(process.env.BENCH_TLS_KEY!),
    ca: readFileSync(process.env.BENCH_TLS_CA!),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    keepAliveTimeout: 65_000,
  },
  provider.callback(),
);
server.on('secureConnection', (socket) => socket.disableRenegotiation());
server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
