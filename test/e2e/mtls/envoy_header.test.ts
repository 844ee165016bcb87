import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { clientsFile, curl, tlsClient } from '../../helpers/mtls_curl.ts';
import { devPki, type Pair } from '../../helpers/pki.ts';

// Envoy's x-forwarded-client-cert format: `By=…;Hash=…;Cert="<URL-encoded PEM>";URI=…`.
let dir: string;
let gh: TestServer;
let good: Pair;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-mtls-xfcc-'));
  const pki = await devPki(join(dir, 'certs'));
  good = await pki.issue(dir, 'mesh', { uri: ['spiffe://cluster.local/ns/default/sa/mesh'] });
  gh = await startTestServer({
    GATEHOUSE_CERTS_DIR: join(dir, 'certs'),
    GATEHOUSE_CLIENTS_FILE: clientsFile([tlsClient('mesh', { tls_client_auth_san_uri: 'spiffe://cluster.local/ns/default/sa/mesh' })]),
    GATEHOUSE_CLIENT_CERT_HEADER: 'x-forwarded-client-cert',
    GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1,::1',
  });
});
after(async () => {
  await gh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('an Envoy x-forwarded-client-cert element from a trusted proxy authenticates the client', async () => {
  const pem = encodeURIComponent(readFileSync(good.cert, 'utf8'));
  const xfcc = `By=spiffe://cluster.local/ns/default/sa/gatehouse;Hash=abc123;Cert="${pem}";Subject="CN=mesh";URI=spiffe://cluster.local/ns/default/sa/mesh`;
  const res = await curl(`${gh.publicUrl}/token`, { data: 'client_id=mesh&grant_type=client_credentials', headers: [`x-forwarded-client-cert: ${xfcc}`] });
  assert.equal(res.status, 200, res.raw);
  assert.equal(res.body.token_type, 'Bearer');
});
