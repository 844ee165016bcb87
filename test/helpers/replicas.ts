import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey } from '../../src/keys/key_generation.ts';
import { startServe, type ServeProcess } from './cli.ts';

export interface Replica {
  proc: ServeProcess;
  base: string;
}

const listening = (l: Record<string, unknown>) => l.event === 'listening';

/**
 * Starts one `gatehouse serve` per port on one MongoDB database (`mongodbUri`) or one SQLite file
 * (`sqliteFile`: processes on one host sharing it), as replicas behind a load balancer: the same
 * issuer, signing keys (GATEHOUSE_JWKS_FILE), cookie keys and clients file, separate data
 * directories under `dir`. Resolves once every replica listens.
 */
export async function startReplicas(options: { dir: string; issuer: string; ports: number[]; clients: unknown[]; env?: Record<string, string> } & ({ mongodbUri: string } | { sqliteFile: string })): Promise<Replica[]> {
  const { dir } = options;
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [await generateSigningKey('RS256'), await generateSigningKey('ES256')] }), { mode: 0o600 });
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify(options.clients));
  const shared = {
    ...('mongodbUri' in options ? { MONGODB_URI: options.mongodbUri } : { GATEHOUSE_STORE: 'sqlite', GATEHOUSE_SQLITE_FILE: options.sqliteFile }),
    GATEHOUSE_ISSUER: options.issuer,
    GATEHOUSE_JWKS_FILE: jwksFile,
    GATEHOUSE_COOKIE_KEYS: `${randomBytes(32).toString('base64url')},${randomBytes(32).toString('base64url')}`,
    GATEHOUSE_CLIENTS_FILE: clientsFile,
    ...options.env,
  };
  const replicas = options.ports.map((port, i) => ({
    proc: startServe({ ...shared, GATEHOUSE_PORT: String(port), GATEHOUSE_DATA_DIR: join(dir, `data-${i}`), GATEHOUSE_CERTS_DIR: join(dir, `certs-${i}`) }),
    base: `http://127.0.0.1:${port}`,
  }));
  // Generous: several processes start at once on a machine shared with other test files.
  await Promise.all(replicas.map((r) => r.proc.waitForLog(listening, 60_000)));
  return replicas;
}
