import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { secretRef } from './secret_ref.ts';
import { Secret } from '../shared/secret.ts';
import { type LdapConnectorConfig, ldapConnectorSchema } from './ldap_connector.ts';

const ENV = 'GATEHOUSE_CONNECTORS_FILE';

const claimName = z.string().min(1).max(100);

const connector = z
  .object({
    /** Absent or "oidc"; "ldap" entries follow ldap_connector.ts. */
    type: z.literal('oidc').optional(),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1-32 lower-case letters, digits or "-" (it is part of the redirect URI)'),
    label: z.string().min(1).max(60),
    issuer: z.string().refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash && !u.username && !u.password;
      } catch {
        return false;
      }
    }, 'must be an http(s) URL without query, fragment or credentials'),
    clientId: z.string().min(1).max(255),
    clientSecret: secretRef.optional(),
    /** client_secret_basic (default) or client_secret_post when a secret is given. */
    clientSecretMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    /** A PKCS#8 PEM or JWK private key for private_key_jwt client authentication. */
    privateKeyJwt: secretRef.and(z.object({ kid: z.string().min(1).optional() })).optional(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/)).min(1).default(['openid', 'profile', 'email']),
    claims: z
      .object({
        username: claimName.default('preferred_username'),
        email: claimName.default('email'),
        name: claimName.default('name'),
        groups: claimName.default('groups'),
        uidNumber: claimName.optional(),
        gidNumber: claimName.optional(),
      })
      .strict()
      .default({ username: 'preferred_username', email: 'email', name: 'name', groups: 'groups' }),
    allowedEmailDomains: z.array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a domain like example.com').transform((d) => d.toLowerCase())).default([]),
    /** Only an upstream-verified address counts for the domain check. */
    requireVerifiedEmail: z.boolean().default(true),
    /** The person must be in at least one of these upstream groups. */
    requiredGroups: z.array(z.string().min(1)).default([]),
    /** How old (seconds) the last upstream check of an account may be when a refresh token is used (offboarding). */
    recheckSeconds: z.number().int().min(0).max(86_400).default(300),
  })
  .strict()
  .refine((c) => (c.clientSecret === undefined) !== (c.privateKeyJwt === undefined), 'give exactly one of "clientSecret" or "privateKeyJwt"')
  .refine((c) => c.scopes.includes('openid'), 'scopes must include "openid"');

type ConnectorInput = z.output<typeof connector>;

/** One upstream OpenID Connect provider, with its secret resolved. */
export interface ConnectorConfig extends Omit<ConnectorInput, 'clientSecret' | 'privateKeyJwt' | 'issuer' | 'type'> {
  /** Issuer URL exactly as the upstream's discovery document must state it. */
  issuer: string;
  clientSecret?: Secret;
  privateKeyJwt?: { key: Secret; kid?: string };
  /**
   * Absolute path the secret (client secret or private key) was read from, when it came from a
   * file: the connector reads it again at every token exchange, so a rotated secret applies
   * without a restart.
   */
  secretFile?: string;
}

function readSecret(ref: { file?: string; env?: string }, env: Record<string, string | undefined>, cwd: string, where: string, problems: string[]): Secret | undefined {
  if (ref.file) {
    const path = resolve(cwd, ref.file);
    try {
      const value = readFileSync(path, 'utf8').trim();
      if (value) return new Secret(value);
      problems.push(`${ENV}: ${where}: ${path} is empty`);
    } catch (err) {
      problems.push(`${ENV}: ${where}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return undefined;
  }
  const value = env[ref.env ?? '']?.trim();
  if (value) return new Secret(value);
  problems.push(`${ENV}: ${where}: environment variable ${ref.env} is not set`);
  return undefined;
}

/** Parses a PEM or JWK private key; the JWT algorithm follows from its type. */
export function parsePrivateKey(text: string) {
  const key = text.startsWith('{') ? createPrivateKey({ key: JSON.parse(text) as import('node:crypto').JsonWebKey, format: 'jwk' }) : createPrivateKey(text);
  if (key.type !== 'private') throw new Error('not a private key');
  return key;
}

function usablePrivateKey(secret: Secret): boolean {
  try {
    const key = parsePrivateKey(secret.reveal());
    return ['rsa', 'ec', 'ed25519'].includes(key.asymmetricKeyType ?? '');
  } catch {
    return false;
  }
}

/** Every connector of the file, by kind, secrets resolved. */
export interface Connectors {
  /** Upstream OpenID Connect providers ("Continue with …"). */
  oidc: ConnectorConfig[];
  /** Company directories checking the username/password form. */
  ldap: LdapConnectorConfig[];
}

/**
 * Reads `GATEHOUSE_CONNECTORS_FILE`: a JSON array of connectors, OpenID Connect ones and, with
 * `"type": "ldap"`, directories. Secrets are read here from the files or environment variables
 * the entries name, so the file itself holds none.
 */
export function loadConnectors(path: string | undefined, env: Record<string, string | undefined>, cwd: string, problems: string[]): Connectors {
  const none: Connectors = { oidc: [], ldap: [] };
  if (!path) return none;
  const file = resolve(cwd, path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`${ENV}: ${file} is not a readable JSON file (${(err as Error).message})`);
    return none;
  }
  if (!Array.isArray(parsed)) {
    problems.push(`${ENV}: (root): must be a JSON array of connectors`);
    return none;
  }
  const seen = new Set<string>();
  const out: Connectors = { oidc: [], ldap: [] };
  const before = problems.length;
  for (const [index, raw] of parsed.entries()) {
    const isLdap = typeof raw === 'object' && raw !== null && (raw as { type?: unknown }).type === 'ldap';
    const result = isLdap ? ldapConnectorSchema.safeParse(raw) : connector.safeParse(raw);
    if (!result.success) {
      for (const i of result.error.issues) problems.push(`${ENV}: ${[index, ...i.path].join('.')}: ${i.message}`);
      continue;
    }
    const c = result.data;
    if (seen.has(c.id)) problems.push(`${ENV}: ${index}.id: "${c.id}" is used twice`);
    seen.add(c.id);
    if (c.type === 'ldap') {
      const { bindPassword, ...rest } = c;
      const entry: LdapConnectorConfig = { ...rest };
      if (bindPassword) entry.bindPassword = readSecret(bindPassword, env, cwd, `${index}.bindPassword`, problems);
      if (c.caFile) {
        const caPath = resolve(cwd, c.caFile);
        try {
          entry.ca = readFileSync(caPath, 'utf8');
          entry.caFile = caPath;
          if (!entry.ca.includes('-----BEGIN CERTIFICATE-----')) problems.push(`${ENV}: ${index}.caFile: ${caPath} holds no PEM certificate`);
        } catch (err) {
          problems.push(`${ENV}: ${index}.caFile: cannot read ${caPath} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
        }
      }
      out.ldap.push(entry);
      continue;
    }
    const { clientSecret, privateKeyJwt, type: _type, ...rest } = c;
    const entry: ConnectorConfig = { ...rest };
    const file = clientSecret?.file ?? privateKeyJwt?.file;
    if (file) entry.secretFile = resolve(cwd, file);
    if (clientSecret) entry.clientSecret = readSecret(clientSecret, env, cwd, `${index}.clientSecret`, problems);
    if (privateKeyJwt) {
      const key = readSecret(privateKeyJwt, env, cwd, `${index}.privateKeyJwt`, problems);
      if (key && usablePrivateKey(key)) entry.privateKeyJwt = { key, kid: privateKeyJwt.kid };
      else if (key) problems.push(`${ENV}: ${index}.privateKeyJwt: not a PKCS#8 PEM or JWK private key (RSA, EC P-256/384/521 or Ed25519)`);
    }
    out.oidc.push(entry);
  }
  return problems.length > before ? none : out;
}
