import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API_SECRET } from '../client/cli_session.ts';
import { ROOT, runCli } from '../../helpers/cli.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { clientsFile, tlsClient } from '../../helpers/mtls_curl.ts';

// A venv made by test/setup/tools.sh with Authlib and requests from PyPI.
const PYTHON = join(ROOT, '.tools', 'python', 'bin', 'python');
const SCRIPT = join(ROOT, 'test', 'e2e', 'interop', 'python', 'client_credentials.py');

function runPython(args: string[]): Promise<{ code: number; out: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [SCRIPT, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      let out: Record<string, unknown> = {};
      try {
        out = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        // left empty: the assertions show stderr
      }
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, stderr });
    });
  });
}

describe('Authlib (Python) client_credentials with tls_client_auth over mutual TLS', () => {
  let dir: string;
  let certs: string;
  let gh: TestServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-authlib-'));
    certs = join(dir, 'certs');
    assert.equal((await runCli(['certs', 'init'], { env: { GATEHOUSE_CERTS_DIR: certs } })).status, 0);
    const issued = await runCli(['certs', 'issue', 'billing', '--san-dns', 'billing.internal.example', '--out', dir], { env: { GATEHOUSE_CERTS_DIR: certs } });
    assert.equal(issued.status, 0, issued.stderr);
    const other = await runCli(['certs', 'issue', 'intruder', '--san-dns', 'intruder.internal.example', '--out', dir], { env: { GATEHOUSE_CERTS_DIR: certs } });
    assert.equal(other.status, 0, other.stderr);
    gh = await startTestServer({
      GATEHOUSE_CERTS_DIR: certs,
      GATEHOUSE_CLIENTS_FILE: clientsFile([
        tlsClient('billing', { tls_client_auth_san_dns: 'billing.internal.example' }, { tls_client_certificate_bound_access_tokens: true }),
        { client_id: 'api', client_secret: API_SECRET, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], introspect_any_token: true },
      ]),
    });
  });
  after(async () => {
    await gh?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('OAuth2Session.fetch_token on the mtls alias gets a certificate-bound token', async () => {
    const r = await runPython([gh.config.issuer, 'billing', join(certs, 'root_ca.crt'), join(dir, 'billing.crt'), join(dir, 'billing.key')]);
    assert.equal(r.code, 0, `${r.stderr}\n${JSON.stringify(r.out)}`);
    assert.equal(r.out.token_endpoint, `${gh.mtlsUrl}/token`);
    assert.equal(r.out.token_type, 'Bearer');
    assert.equal(typeof r.out.access_token, 'string');

    const res = await fetch(`${gh.publicUrl}/token/introspection`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`api:${API_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ token: r.out.access_token as string }),
    });
    const info = (await res.json()) as Record<string, unknown>;
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'billing');
    const der = new X509Certificate(readFileSync(join(dir, 'billing.crt'))).raw;
    assert.deepEqual(info.cnf, { 'x5t#S256': createHash('sha256').update(der).digest('base64url') });
  });

  test('without a certificate, or with another client\'s, Authlib reports invalid_client', async () => {
    const none = await runPython([gh.config.issuer, 'billing', join(certs, 'root_ca.crt')]);
    assert.equal(none.code, 1, none.stderr);
    assert.equal(none.out.error, 'invalid_client');
    const wrong = await runPython([gh.config.issuer, 'billing', join(certs, 'root_ca.crt'), join(dir, 'intruder.crt'), join(dir, 'intruder.key')]);
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.equal(wrong.out.error, 'invalid_client');
  });
});
