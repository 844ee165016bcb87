import type { Command } from 'commander';
import type { ClientMetadata } from 'oidc-provider';
import { gatehouseFeatures } from '../../features/all.ts';
import { createFeaturedProvider } from '../../features/compose.ts';
import { DEVICE_CODE_GRANT } from '../../shared/grant_types.ts';
import { ClientAdmin, InvalidClientError } from '../../clients/client_admin.ts';
import { replaceInvisible } from '../../clients/client_text.ts';
import { loadKeys } from '../../keys/key_material.ts';
import { loadResourceServers } from '../../provider/resource_servers.ts';
import { loadStaticClients } from '../../clients/static_clients.ts';
import { UsageError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/logger.ts';
import { sshHostMetadata } from '../../features/ssh_login/host_client.ts';
import { cliAudit } from '../audit.ts';
import { withStore } from '../store.ts';

const GRANT_ALIASES: Record<string, string> = { device_code: DEVICE_CODE_GRANT };
const TLS_OPTIONS = { tlsSubjectDn: 'tls_client_auth_subject_dn', tlsSanDns: 'tls_client_auth_san_dns', tlsSanUri: 'tls_client_auth_san_uri', tlsSanIp: 'tls_client_auth_san_ip', tlsSanEmail: 'tls_client_auth_san_email' } as const;

interface MetadataOptions {
  id?: string;
  name?: string;
  grant?: string[];
  redirectUri?: string[];
  authMethod?: string;
  public?: boolean;
  native?: boolean;
  scope?: string;
  jwksUri?: string;
  metadata?: string;
  tlsSubjectDn?: string;
  tlsSanDns?: string;
  tlsSanUri?: string;
  tlsSanIp?: string;
  tlsSanEmail?: string;
  ssh?: boolean;
}

function metadataOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'client_name shown to people')
    .option('--grant <grant...>', 'grant types: authorization_code, refresh_token, client_credentials, device_code')
    .option('--redirect-uri <uri...>', 'redirect URIs (https, or http on a loopback address for native apps)')
    .option('--auth-method <method>', 'token_endpoint_auth_method (client_secret_basic, private_key_jwt, tls_client_auth, none, ...)')
    .option('--public', 'a public client (token_endpoint_auth_method none), e.g. a CLI')
    .option('--native', 'application_type native (loopback or custom-scheme redirects)')
    .option('--scope <scope>', 'space-separated scopes the client may request')
    .option('--jwks-uri <uri>', 'https URL of the client\'s public keys')
    .option('--tls-subject-dn <dn>', 'tls_client_auth: expected certificate subject DN')
    .option('--tls-san-dns <name>', 'tls_client_auth: expected dNSName SAN')
    .option('--tls-san-uri <uri>', 'tls_client_auth: expected URI SAN')
    .option('--tls-san-ip <ip>', 'tls_client_auth: expected iPAddress SAN')
    .option('--tls-san-email <email>', 'tls_client_auth: expected rfc822Name SAN')
    .option('--metadata <json>', 'any other RFC 7591 metadata as a JSON object (flags win over it)');
}

/** Turns flags into RFC 7591 metadata; only what was given, so `update` changes only that. */
function toMetadata(opts: MetadataOptions): Record<string, unknown> {
  if (opts.ssh && opts.public) throw new UsageError('--ssh makes a confidential client (the host keeps a secret); drop --public');
  let out: Record<string, unknown> = opts.ssh ? sshHostMetadata() : {};
  if (opts.metadata !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(opts.metadata);
    } catch {
      throw new UsageError('--metadata must be a JSON object');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('--metadata must be a JSON object');
    out = { ...out, ...(parsed as Record<string, unknown>) };
  }
  if (opts.id !== undefined) out.client_id = opts.id;
  if (opts.name !== undefined) out.client_name = opts.name;
  if (opts.grant !== undefined) {
    out.grant_types = opts.grant.map((g) => GRANT_ALIASES[g] ?? g);
    out.response_types = (out.grant_types as string[]).includes('authorization_code') ? ['code'] : [];
  }
  if (opts.redirectUri !== undefined) out.redirect_uris = opts.redirectUri;
  if (opts.public && opts.authMethod && opts.authMethod !== 'none') throw new UsageError('--public and --auth-method contradict each other');
  if (opts.public) out.token_endpoint_auth_method = 'none';
  if (opts.authMethod !== undefined) out.token_endpoint_auth_method = opts.authMethod;
  if (opts.native) out.application_type = 'native';
  if (opts.scope !== undefined) out.scope = opts.scope;
  if (opts.jwksUri !== undefined) out.jwks_uri = opts.jwksUri;
  for (const [flag, field] of Object.entries(TLS_OPTIONS)) {
    const value = opts[flag as keyof typeof TLS_OPTIONS];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** Opens the store and an oidc-provider built exactly as `serve` builds it, for validation. */
async function withAdmin<T>(fn: (admin: ClientAdmin) => Promise<T>): Promise<T> {
  return withStore(async (store, config) => {
    const logger = createLogger({ level: 'silent' });
    const keys = await loadKeys({ dataDir: config.dataDir, jwksFile: config.jwksFile, cookieKeys: config.cookieKeys });
    const staticClients = loadStaticClients(config.clientsFile);
    try {
      const features = gatehouseFeatures(config, { store, audit: cliAudit() });
      const provider = createFeaturedProvider({ config, store, keys, logger, staticClients, resourceServers: loadResourceServers(config.resourceServersFile) }, features);
      return await fn(new ClientAdmin(provider, store, staticClients));
    } catch (err) {
      if (err instanceof InvalidClientError) throw new UsageError(err.message);
      throw err;
    }
  });
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Replaces terminal control characters and invisible format characters (bidi overrides…) in
 * self-asserted text before it reaches a terminal; the client rules refuse them in new metadata,
 * this covers records stored before they did.
 */
function safe(text: unknown): string {
  return replaceInvisible(String(text ?? ''));
}

function printSecretNotice(secret: string | undefined): void {
  if (secret) process.stderr.write('The client_secret above is shown only this once; store it now.\n');
}

/** `gatehouse clients add|list|show|update|remove`: clients kept in the store. */
export function registerClients(program: Command): void {
  const cmd = program.command('clients').description('administer OAuth clients kept in the store (registered and operator-added); the static clients file is read-only');

  metadataOptions(
    cmd
      .command('add')
      .description('add a client and print its metadata (with any generated secret, once)')
      .option('--id <client_id>', 'client_id (default: random)')
      .option('--ssh', 'an SSH host running the PAM module (host/pam/): confidential, device_code only, scope "openid profile groups posix"'),
  ).action(async (opts: MetadataOptions) => {
    await withAdmin(async (admin) => {
      const { metadata, secret } = await admin.add(toMetadata(opts));
      cliAudit().record('client.registered', { client_id: metadata.client_id, via: 'cli' });
      printJson(secret ? { ...metadata, client_secret: secret } : metadata);
      printSecretNotice(secret);
    });
  });

  cmd
    .command('list')
    .description('list every client: from the store and from GATEHOUSE_CLIENTS_FILE')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      await withAdmin(async (admin) => {
        const clients = await admin.list();
        if (opts.json) return printJson(clients.map((c) => ({ ...c.metadata, source: c.source })));
        if (!clients.length) return void process.stdout.write('no clients\n');
        const rows = clients.map(({ metadata: m, source }: { metadata: ClientMetadata; source: string }) => [
          safe(m.client_id),
          safe(m.client_name ?? ''),
          safe(m.token_endpoint_auth_method),
          safe((m.grant_types ?? []).join(',')),
          source,
        ]);
        const header = ['CLIENT_ID', 'NAME', 'AUTH', 'GRANTS', 'SOURCE'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const row of [header, ...rows]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      });
    });

  cmd
    .command('show <client_id>')
    .description('print one client\'s metadata (never its secret)')
    .action(async (clientId: string) => {
      await withAdmin(async (admin) => {
        const { metadata, source } = await admin.get(clientId);
        printJson({ ...metadata, source });
      });
    });

  metadataOptions(cmd.command('update <client_id>').description('change the given fields of a stored client').option('--rotate-secret', 'issue a new client_secret (printed once)')).action(
    async (clientId: string, opts: MetadataOptions & { rotateSecret?: boolean }) => {
      const changes = toMetadata(opts);
      if (!Object.keys(changes).length && !opts.rotateSecret) throw new UsageError('nothing to update; give at least one option');
      await withAdmin(async (admin) => {
        const { metadata, secret } = await admin.update(clientId, changes, { rotateSecret: opts.rotateSecret });
        cliAudit().record('client.updated', { client_id: metadata.client_id, secret_rotated: Boolean(secret), via: 'cli' });
        printJson(secret ? { ...metadata, client_secret: secret } : metadata);
        printSecretNotice(secret);
      });
    },
  );

  cmd
    .command('remove <client_id>')
    .description('delete a stored client; it can no longer obtain tokens')
    .action(async (clientId: string) => {
      await withAdmin(async (admin) => {
        const { hidden } = await admin.remove(clientId);
        cliAudit().record('client.deleted', { client_id: clientId, via: 'cli' });
        process.stderr.write(hidden ? `removed the stored client ${safe(clientId)} that GATEHOUSE_CLIENTS_FILE hid; the file's ${safe(clientId)} stays\n` : `removed client ${safe(clientId)}\n`);
      });
    });
}
