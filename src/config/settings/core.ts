import { z } from 'zod';
import { bool, httpUrl, list, port, setting, str, duration } from '../setting.ts';

/** Process, listeners and paths. */
export const core = {
  mode: setting({
    env: 'GATEHOUSE_MODE',
    schema: z.enum(['development', 'production'], { message: 'must be development or production' }),
    default: 'development',
    type: 'development | production',
    description: 'Production refuses insecure settings (generated keys, http issuer, open registration) instead of warning.',
  }),
  issuer: setting({
    env: 'GATEHOUSE_ISSUER',
    schema: httpUrl(),
    default: 'http://localhost:3000',
    type: 'URL',
    description: 'Public issuer URL; every browser-facing and discovery URL is derived from it, never from Host headers.',
  }),
  host: setting({
    env: 'GATEHOUSE_HOST',
    schema: str(),
    default: '127.0.0.1',
    type: 'address',
    description: 'Address both listeners bind to (0.0.0.0 or :: in a container).',
  }),
  port: setting({
    env: 'GATEHOUSE_PORT',
    schema: port(),
    default: '3000',
    type: 'port',
    description: 'Public HTTP listener port (0 picks a free port).',
  }),
  mtlsPort: setting({
    env: 'GATEHOUSE_MTLS_PORT',
    schema: port(),
    default: '3443',
    type: 'port',
    description: 'Mutual-TLS listener port for certificate-authenticated clients (0 picks a free port).',
  }),
  mtlsOrigin: setting({
    env: 'GATEHOUSE_MTLS_ORIGIN',
    schema: httpUrl(),
    default: 'https://localhost:3443',
    type: 'URL',
    description: 'Origin advertised in discovery as mtls_endpoint_aliases: where clients reach the mTLS listener. https; production refuses one naming this machine (localhost, loopback), the default included.',
  }),
  dataDir: setting({
    env: 'GATEHOUSE_DATA_DIR',
    schema: str(),
    default: './data',
    type: 'path',
    description: 'Directory for the SQLite database and generated development keys.',
  }),
  certsDir: setting({
    env: 'GATEHOUSE_CERTS_DIR',
    schema: str(),
    default: './certs',
    type: 'path',
    description: 'Directory holding server.crt, server.key and root_ca.crt for the mTLS listener.',
  }),
  trustProxy: setting({
    env: 'GATEHOUSE_TRUST_PROXY',
    schema: bool(),
    default: 'false',
    type: 'boolean',
    description: 'Honour X-Forwarded-Proto/For from the reverse proxy (never X-Forwarded-Host for URLs); of X-Forwarded-For only the one client address the proxies appended is believed, never what the client sent (see GATEHOUSE_TRUSTED_PROXIES).',
  }),
  trustedProxies: setting({
    env: 'GATEHOUSE_TRUSTED_PROXIES',
    schema: list(),
    default: '',
    type: 'CIDR list',
    description: 'Comma-separated proxy addresses/CIDRs whose forwarded headers are honoured; empty means any when GATEHOUSE_TRUST_PROXY is true. The client is the rightmost X-Forwarded-For entry not in this list (with the list empty, the rightmost entry: the address the nearest proxy saw); behind a chain of proxies list all of them, or every request counts as coming from the outer proxy.',
  }),
  logLevel: setting({
    env: 'GATEHOUSE_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' }),
    default: 'info',
    type: 'level',
    description: 'pino log level.',
  }),
  shutdownTimeout: setting({
    env: 'GATEHOUSE_SHUTDOWN_TIMEOUT',
    schema: duration(1, 600),
    default: '10s',
    type: 'duration',
    description: 'How long in-flight requests may take to finish after SIGTERM before connections are closed.',
  }),
  shutdownDrainDelay: setting({
    env: 'GATEHOUSE_SHUTDOWN_DRAIN_DELAY',
    schema: duration(0, 600),
    default: '5s',
    type: 'duration',
    description:
      'After SIGTERM, how long to keep serving (readiness already false, every response `Connection: close`) so load balancers stop sending traffic before the listeners close — a built-in preStop sleep. 0 closes at once.',
  }),
} as const;
