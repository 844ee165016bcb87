import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { z } from 'zod';
import { SIGNING_ALGS, signableAlgs } from '../keys/key_algorithms.ts';
import { ConfigError } from '../shared/errors.ts';

const resourceServer = z
  .object({
    scope: z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'must be space-separated scope names'),
    accessTokenFormat: z.enum(['jwt', 'opaque']).default('jwt'),
    signingAlg: z.enum(SIGNING_ALGS).default('ES256'),
    accessTokenTTL: z.number().int().min(1).max(86_400).optional(),
    audience: z.string().min(1).optional(),
  })
  .strict();

/** One API that receives audience-restricted access tokens. */
export type ResourceServerConfig = z.output<typeof resourceServer>;

const file = z.record(
  z.string().refine((k) => URL.canParse(k) && !new URL(k).hash, 'resource indicators must be absolute URIs without a fragment (RFC 8707 §2)'),
  resourceServer,
);

/**
 * Reads `GATEHOUSE_RESOURCE_SERVERS_FILE`: resource indicator → scope, token format and signing
 * algorithm. JWT (RFC 9068) signed ES256 unless a server says otherwise.
 */
export function loadResourceServers(path: string | undefined): Map<string, ResourceServerConfig> {
  if (!path) return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`GATEHOUSE_RESOURCE_SERVERS_FILE: ${path} is not a readable JSON file (${(err as Error).message})`]);
  }
  const result = file.safeParse(parsed);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `GATEHOUSE_RESOURCE_SERVERS_FILE: ${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return new Map(Object.entries(result.data));
}

/**
 * The APIs whose `signingAlg` no active key of `jwks` can sign, each with a message naming the
 * file, the API, the algorithm and what the keys do sign. oidc-provider looks for the key only when
 * it signs a token, where a missing one would be a 500.
 * @returns indicator → problem; empty when every JWT API can get tokens
 */
export function resourceServerKeyProblems(servers: Map<string, ResourceServerConfig>, jwks: { keys: JWK[] }, files: { resourceServersFile?: string; jwksPath: string }): Map<string, string> {
  const offered = signableAlgs(jwks);
  return new Map(
    [...servers]
      .filter(([, rs]) => rs.accessTokenFormat === 'jwt' && !offered.includes(rs.signingAlg))
      .map(([indicator, rs]) => [
        indicator,
        `GATEHOUSE_RESOURCE_SERVERS_FILE: ${files.resourceServersFile}: ${indicator} has signingAlg ${rs.signingAlg}, but no active key in ${files.jwksPath} (GATEHOUSE_JWKS_FILE) signs ${rs.signingAlg}; ` +
          `the active keys sign ${offered.join(', ') || 'nothing'}. Add a key for ${rs.signingAlg} (\`gatehouse keys add ${rs.signingAlg}\`, see README "Signing key rotation") or choose one of those algorithms`,
      ]),
  );
}

/**
 * At start: every JWT API's `signingAlg` must have an active key (exit 2 otherwise). A key change
 * while running is applied whatever it removes — a key taken out must stop signing — and an API
 * left without a key answers `temporarily_unavailable` (parts/resources.ts) until one is added.
 * @throws ConfigError with one line per such API ({@link resourceServerKeyProblems})
 */
export function checkResourceServerKeys(servers: Map<string, ResourceServerConfig>, jwks: { keys: JWK[] }, files: { resourceServersFile?: string; jwksPath: string }): void {
  const problems = resourceServerKeyProblems(servers, jwks, files);
  if (problems.size) throw new ConfigError([...problems.values()]);
}
