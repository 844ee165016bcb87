import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CurlResult {
  status: number;
  body: Record<string, unknown>;
  raw: string;
}

/**
 * Runs the real `curl` binary against the mTLS listener. `cert`/`key` may be omitted to present no
 * certificate; `headers` adds request headers.
 */
export async function curl(url: string, options: { cacert?: string; cert?: string; key?: string; data?: string; headers?: string[]; bearer?: string } = {}): Promise<CurlResult> {
  const args = ['-sS', '-o', '-', '-w', '\n%{http_code}'];
  if (options.cacert) args.push('--cacert', options.cacert);
  if (options.cert) args.push('--cert', options.cert);
  if (options.key) args.push('--key', options.key);
  if (options.data !== undefined) args.push('-d', options.data);
  for (const h of options.headers ?? []) args.push('-H', h);
  if (options.bearer) args.push('-H', `Authorization: Bearer ${options.bearer}`);
  args.push(url);
  const { stdout } = await run('curl', args, { maxBuffer: 1 << 20 });
  const nl = stdout.lastIndexOf('\n');
  const raw = stdout.slice(0, nl);
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    body = {};
  }
  return { status: Number(stdout.slice(nl + 1)), body, raw };
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
