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
 * oidc-provider looks for a key of a resource server's `signingAlg` only when it signs a token for
 * it, so an algorithm no active key can sign would turn every token request for that API into a
 * 500. Checked whenever a provider is built for a key set: at start (a ConfigError, exit 2) and on
 * every key change, which is then refused (see provider/hot_swap.ts).
 * @throws ConfigError naming the file, each such API and algorithm, and the algorithms the keys sign
 */
export function checkResourceServerKeys(servers: Map<string, ResourceServerConfig>, jwks: { keys: JWK[] }, files: { resourceServersFile?: string; jwksPath: string }): void {
  const offered = signableAlgs(jwks);
  const problems = [...servers]
    .filter(([, rs]) => rs.accessTokenFormat === 'jwt' && !offered.includes(rs.signingAlg))
    .map(
      ([indicator, rs]) =>
        `GATEHOUSE_RESOURCE_SERVERS_FILE: ${files.resourceServersFile}: ${indicator} has signingAlg ${rs.signingAlg}, but no active key in ${files.jwksPath} (GATEHOUSE_JWKS_FILE) signs ${rs.signingAlg}; ` +
        `the active keys sign ${offered.join(', ') || 'nothing'}. Add a key for ${rs.signingAlg} (\`gatehouse keys add ${rs.signingAlg}\`, see README "Signing key rotation") or choose one of those algorithms`,
    );
  if (problems.length) throw new ConfigError(problems);
}
