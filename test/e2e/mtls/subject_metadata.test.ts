import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../../src/shared/errors.ts';
import { runCli } from '../../helpers/cli.ts';
import { curl } from '../../helpers/curl.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { clientsFile, tlsClient } from '../../helpers/mtls_curl.ts';

// A registered tls_client_auth_* value that no certificate can carry is refused wherever a client
// is created: dynamic registration (RFC 7591 §3.2.2 invalid_client_metadata), `gatehouse clients`,
// and the static clients file at start. The description names the field.
const BAD: Array<[field: string, value: string, flag: string]> = [
  ['tls_client_auth_san_email', 'curl', '--tls-san-email'],
  ['tls_client_auth_san_dns', 'billing..example', '--tls-san-dns'],
  ['tls_client_auth_san_ip', '10.1.2', '--tls-san-ip'],
  ['tls_client_auth_san_uri', 'billing/relative', '--tls-san-uri'],
  ['tls_client_auth_subject_dn', 'billing', '--tls-subject-dn'],
];
const document = (subject: Record<string, string>) =>
  JSON.stringify({ redirect_uris: [], response_types: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'tls_client_auth', ...subject });

let gh: TestServer;
let dataDir: string;

before(async () => {
  gh = await startTestServer();
  dataDir = mkdtempSync(join(tmpdir(), 'gh-subject-cli-'));
});
after(async () => {
  await gh?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('tls_client_auth_* values are checked', () => {
  for (const [field, value, flag] of BAD) {
    it(`${field} ${JSON.stringify(value)}: registration answers invalid_client_metadata naming it, and so does \`gatehouse clients add ${flag}\``, async () => {
      const r = await curl(['-H', 'Content-Type: application/json', '-d', document({ [field]: value }), `${gh.publicUrl}/reg`]);
      assert.equal(r.status, 400, r.body);
      assert.equal(r.json.error, 'invalid_client_metadata');
      assert.match(String(r.json.error_description), new RegExp(`^${field} must be `));

      const cli = await runCli(['clients', 'add', '--grant', 'client_credentials', '--auth-method', 'tls_client_auth', flag, value], { env: { GATEHOUSE_DATA_DIR: dataDir } });
      assert.equal(cli.status, 2, cli.stdout + cli.stderr);
      assert.match(cli.stderr, new RegExp(`invalid_client_metadata: ${field} must be `));
    });
  }

  it('well-formed values of every field register', async () => {
    for (const [field, value] of [
      ['tls_client_auth_san_email', 'curl@example.com'],
      ['tls_client_auth_san_dns', 'billing.internal.example'],
      ['tls_client_auth_san_ip', '2001:db8::1'],
      ['tls_client_auth_san_uri', 'spiffe://example.org/ns/prod/sa/billing'],
      ['tls_client_auth_subject_dn', 'CN=billing,O=Example'],
    ]) {
      const r = await curl(['-H', 'Content-Type: application/json', '-d', document({ [field!]: value! }), `${gh.publicUrl}/reg`]);
      assert.equal(r.status, 201, r.body);
      assert.equal(r.json[field!], value);
    }
  });

  it('an update through the management endpoint (RFC 7592) is checked too', async () => {
    const created = await curl(['-H', 'Content-Type: application/json', '-d', document({ tls_client_auth_san_email: 'curl@example.com' }), `${gh.publicUrl}/reg`]);
    assert.equal(created.status, 201, created.body);
    const { client_id, registration_access_token: rat } = created.json as { client_id: string; registration_access_token: string };
    const update = await curl([
      '-X', 'PUT', '-H', 'Content-Type: application/json', '-H', `Authorization: Bearer ${rat}`,
      '-d', JSON.stringify({ ...JSON.parse(document({ tls_client_auth_san_email: 'curl' })), client_id }),
      `${gh.publicUrl}/reg/${client_id}`,
    ]);
    assert.equal(update.status, 400, update.body);
    assert.match(String(update.json.error_description), /^tls_client_auth_san_email must be /);
  });

  it('a static client with such a value stops the server at start, naming the client and the field', async () => {
    await assert.rejects(
      startTestServer({ GATEHOUSE_CLIENTS_FILE: clientsFile([tlsClient('seed', { tls_client_auth_san_email: 'curl' })]) }),
      (err: unknown) => err instanceof ConfigError && /client seed: invalid_client_metadata: tls_client_auth_san_email must be /.test(err.message),
    );
  });
});
