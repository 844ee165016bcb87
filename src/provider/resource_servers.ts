import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../shared/errors.ts';

const ASYMMETRIC = ['ES256', 'ES384', 'ES512', 'EdDSA', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'] as const;

const resourceServer = z
  .object({
    scope: z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'must be space-separated scope names'),
    accessTokenFormat: z.enum(['jwt', 'opaque']).default('jwt'),
    signingAlg: z.enum(ASYMMETRIC).default('ES256'),
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
