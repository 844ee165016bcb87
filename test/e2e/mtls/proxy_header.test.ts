import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { clientsFile, curl, tlsClient } from '../../helpers/mtls_curl.ts';
import { devPki, type Pair } from '../../helpers/pki.ts';

// A TLS-terminating proxy in front of the public listener forwards the client certificate in a
// header; it is believed only from GATEHOUSE_TRUSTED_PROXIES and still checked like a TLS one.
let dir: string;
let trusted: TestServer;
let untrusted: TestServer;
let rootCa: string;
let good: Pair;
let expired: Pair;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-mtls-proxy-'));
  const certsDir = join(dir, 'certs');
  const pki = await devPki(certsDir);
  rootCa = pki.rootCa;
  good = await pki.issue(dir, 'edge', { dns: ['edge.internal.example'] });
  expired = await pki.issue(dir, 'edge-old', { dns: ['edge.internal.example'] }, { offsetDays: -5, days: 1 });
  const clients = clientsFile([tlsClient('edge', { tls_client_auth_san_dns: 'edge.internal.example' })]);
  const common = { GATEHOUSE_CERTS_DIR: certsDir, GATEHOUSE_CLIENTS_FILE: clients, GATEHOUSE_CLIENT_CERT_HEADER: 'ssl-client-cert' };
  trusted = await startTestServer({ ...common, GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32,::1' });
  untrusted = await startTestServer({ ...common, GATEHOUSE_TRUSTED_PROXIES: '10.20.30.0/24' });
});
after(async () => {
  await trusted?.stop();
  await untrusted?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const escapedPem = (pair: Pair) => encodeURIComponent(readFileSync(pair.cert, 'utf8'));
const post = (base: string, headers: string[], opts: { cert?: Pair } = {}) =>
  curl(`${base}/token`, { cacert: rootCa, cert: opts.cert?.cert, key: opts.cert?.key, data: 'client_id=edge&grant_type=client_credentials', headers });

describe('client certificate forwarded by a proxy', () => {
  it('nginx-ingress ssl-client-cert (URL-encoded PEM) from a trusted proxy authenticates the client', async () => {
    const res = await post(trusted.publicUrl, [`ssl-client-cert: ${escapedPem(good)}`]);
    assert.equal(res.status, 200, res.raw);
    assert.equal(res.body.token_type, 'Bearer');
  });

  it('the forwarded certificate is still checked: an expired one is refused', async () => {
    const res = await post(trusted.publicUrl, [`ssl-client-cert: ${escapedPem(expired)}`]);
    assert.equal(res.status, 401, res.raw);
    assert.equal(res.body.error, 'invalid_client');
  });

  it('garbage in the header from a trusted proxy is 401, never 500', async () => {
    for (const value of ['%E0%A4%A', 'not-a-certificate', encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')]) {
      const res = await post(trusted.publicUrl, [`ssl-client-cert: ${value}`]);
      assert.equal(res.status, 401, `${value}: ${res.raw}`);
      assert.equal(res.body.error, 'invalid_client');
    }
  });

  it('a forged header from an untrusted address is ignored, logged and refused with 401 invalid_client', async () => {
    const res = await post(untrusted.publicUrl, [`ssl-client-cert: ${escapedPem(good)}`]);
    assert.equal(res.status, 401, res.raw);
    assert.equal(res.body.error, 'invalid_client');
    assert.ok(untrusted.logs.some((l) => l.event === 'client_cert_header_ignored' && l.remote !== undefined));
  });

  it('on the mTLS listener the header is never believed, even from a trusted address', async () => {
    const res = await post(trusted.mtlsUrl!, [`ssl-client-cert: ${escapedPem(good)}`]);
    assert.equal(res.status, 401, res.raw);
    assert.equal(res.body.error, 'invalid_client');
  });
});
