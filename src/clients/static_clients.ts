import { readFileSync } from 'node:fs';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import { ConfigError } from '../shared/errors.ts';
import type { Store } from '../storage/adapter.ts';
import { CLIENT_MODEL } from './client_admin.ts';

/**
 * Reads `GATEHOUSE_CLIENTS_FILE`: a JSON array of client metadata (RFC 7591 names).
 * oidc-provider validates each entry when the provider is built; this only checks the shape.
 */
export function loadStaticClients(file: string | undefined): ClientMetadata[] {
  if (!file) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`GATEHOUSE_CLIENTS_FILE: ${file} is not a readable JSON file (${(err as Error).message})`]);
  }
  if (!Array.isArray(parsed) || !parsed.every((c) => c && typeof c === 'object' && typeof c.client_id === 'string')) {
    throw new ConfigError([`GATEHOUSE_CLIENTS_FILE: ${file} must be a JSON array of objects, each with a client_id`]);
  }
  const ids = new Set<string>();
  for (const c of parsed as ClientMetadata[]) {
    if (ids.has(c.client_id)) throw new ConfigError([`GATEHOUSE_CLIENTS_FILE: client_id ${c.client_id} appears twice`]);
    ids.add(c.client_id);
  }
  return parsed as ClientMetadata[];
}

/**
 * Validates every static client against the provider's rules (oidc-provider otherwise does so
 * lazily, on first use) so a mistake such as two `tls_client_auth_*` subject fields stops the
 * server at start, naming the client, instead of failing its requests later.
 */
export async function validateStaticClients(provider: Provider, clients: ClientMetadata[]): Promise<void> {
  const problems: string[] = [];
  for (const metadata of clients) {
    try {
      await provider.Client.validate(metadata);
    } catch (err) {
      const e = err as { error_description?: string; message: string };
      problems.push(`GATEHOUSE_CLIENTS_FILE: client ${metadata.client_id}: ${e.error_description ?? e.message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
}

/**
 * Ids of the file's clients that also have a stored record (registered or added with `gatehouse
 * clients` before the file named them): the file's entry wins everywhere, so the stored one is
 * unreachable — its secret no longer works and `clients list` does not show it. One store read per
 * static client, at start. `gatehouse clients remove <id>` deletes the hidden record.
 */
export async function shadowedStoredClients(store: Store, clients: ClientMetadata[]): Promise<string[]> {
  const hidden: string[] = [];
  for (const { client_id: id } of clients) if (await store.find(CLIENT_MODEL, id)) hidden.push(id);
  return hidden;
}
