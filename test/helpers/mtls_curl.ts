import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curl as runCurl } from './curl.ts';

export interface MtlsCurlResult {
  status: number;
  body: Record<string, unknown>;
  raw: string;
}

/**
 * The real `curl` against the mTLS listener, with named options: `cert`/`key` may be omitted to
 * present no certificate; `headers` adds request headers.
 */
export async function curl(url: string, options: { cacert?: string; cert?: string; key?: string; data?: string; headers?: string[]; bearer?: string } = {}): Promise<MtlsCurlResult> {
  const args: string[] = [];
  if (options.cacert) args.push('--cacert', options.cacert);
  if (options.cert) args.push('--cert', options.cert);
  if (options.key) args.push('--key', options.key);
  if (options.data !== undefined) args.push('-d', options.data);
  for (const h of options.headers ?? []) args.push('-H', h);
  if (options.bearer) args.push('-H', `Authorization: Bearer ${options.bearer}`);
  const r = await runCurl([...args, url]);
  return { status: r.status, body: r.json, raw: r.body };
}

/** Writes a static clients file into a fresh temp dir and returns its path. */
export function clientsFile(clients: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-mtls-clients-'));
  const path = join(dir, 'clients.json');
  writeFileSync(path, JSON.stringify(clients));
  return path;
}

/** A static client_credentials client authenticating with tls_client_auth. */
export function tlsClient(clientId: string, subject: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: clientId, token_endpoint_auth_method: 'tls_client_auth', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], ...subject, ...extra };
}
