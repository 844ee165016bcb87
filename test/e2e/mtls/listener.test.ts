import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { issueCertificate, createRootCa } from '../../../src/pki/issue.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { clientsFile, curl, tlsClient } from '../../helpers/mtls_curl.ts';
import { devPki, opensslCa, opensslIssue, type Pair } from '../../helpers/pki.ts';

// The mTLS listener itself: discovery aliases, TLS floor, and certificate/CA files reloaded from
// disk without a restart (as cert-manager rotates a Secret).
let dir: string;
let gh: TestServer;
let pki: Awaited<ReturnType<typeof devPki>>;
let acmeClient: Pair;
let acmeCaPem: string;
let caFile: string;
let webCert: Pair;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-mtls-listener-'));
  const certsDir = join(dir, 'certs');
  pki = await devPki(certsDir);
  const acme = await opensslCa(dir, 'acme', '/CN=Acme Rotation Root');
  acmeCaPem = readFileSync(acme.cert, 'utf8');
  acmeClient = await opensslIssue(dir, acme, 'rotating', '/CN=rotating', ['subjectAltName=email:rotating@acme.example']);
  webCert = await pki.issue(dir, 'web', { dns: ['web.internal.example'] });
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, readFileSync(pki.rootCa, 'utf8'));
  gh = await startTestServer({
    GATEHOUSE_MTLS_CERT_FILE: pki.serverCert,
    GATEHOUSE_MTLS_KEY_FILE: pki.serverKey,
    GATEHOUSE_MTLS_CA_FILE: caFile,
    GATEHOUSE_CLIENTS_FILE: clientsFile([
      tlsClient('rotating', { tls_client_auth_san_email: 'rotating@acme.example' }),
      tlsClient('web', { tls_client_auth_san_dns: 'web.internal.example' }, { grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: ['https://app.example.com/cb'] }),
    ]),
  });
});
after(async () => {
  await gh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Fingerprint of the server certificate a fresh handshake shows. */
function serverFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: gh.ports.mtls!, servername: 'localhost', rejectUnauthorized: false }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('discovery', () => {
  it('advertises mtls_endpoint_aliases on GATEHOUSE_MTLS_ORIGIN; browser-facing URLs stay on the issuer', async () => {
    const body = (await (await fetch(`${gh.publicUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    const aliases = body.mtls_endpoint_aliases as Record<string, string>;
    const origin = gh.config.mtlsOrigin;
    assert.equal(aliases.token_endpoint, `${origin}/token`);
    assert.equal(aliases.introspection_endpoint, `${origin}/token/introspection`);
    assert.equal(aliases.revocation_endpoint, `${origin}/token/revocation`);
    assert.equal(aliases.userinfo_endpoint, `${origin}/me`);
    assert.equal(body.authorization_endpoint, `${gh.config.issuer}/auth`);
    assert.equal(body.token_endpoint, `${gh.config.issuer}/token`);
    assert.equal(body.tls_client_certificate_bound_access_tokens, true);
    assert.ok((body.token_endpoint_auth_methods_supported as string[]).includes('tls_client_auth'));
    assert.ok((body.token_endpoint_auth_methods_supported as string[]).includes('self_signed_tls_client_auth'));
  });

  it('served on the mTLS listener it is the same document, and a Host header changes no URL on either listener', async () => {
    const fromMtls = await curl(`${gh.mtlsUrl}/.well-known/openid-configuration`, { cacert: pki.rootCa, headers: ['Host: evil.example'] });
    const fromPublic = await curl(`${gh.publicUrl}/.well-known/openid-configuration`, { headers: ['Host: evil.example', 'X-Forwarded-Host: evil.example'] });
    assert.equal(fromMtls.status, 200, fromMtls.raw);
    assert.ok(!fromMtls.raw.includes('evil.example'), fromMtls.raw);
    assert.ok(!fromPublic.raw.includes('evil.example'), fromPublic.raw);
    assert.equal(fromMtls.body.issuer, gh.config.issuer);
    assert.equal(fromMtls.body.authorization_endpoint, `${gh.config.issuer}/auth`);
    assert.equal(fromMtls.body.token_endpoint, `${gh.config.issuer}/token`);
    assert.deepEqual(fromMtls.body.mtls_endpoint_aliases, fromPublic.body.mtls_endpoint_aliases);
  });
});

describe('the TLS listener', () => {
  it('authenticates a tls_client_auth client at revocation (RFC 7009), and refuses one without a certificate', async () => {
    // Pushed authorization requests are switched off (README: discovery); revocation is another
    // client-authenticated endpoint served on the mTLS origin.
    const data = new URLSearchParams({ client_id: 'web', token: 'not-a-token-this-server-issued' }).toString();
    const res = await curl(`${gh.mtlsUrl}/token/revocation`, { cacert: pki.rootCa, cert: webCert.cert, key: webCert.key, data });
    assert.equal(res.status, 200, res.raw);
    const refused = await curl(`${gh.mtlsUrl}/token/revocation`, { cacert: pki.rootCa, data });
    assert.equal(refused.status, 401, refused.raw);
    assert.equal(refused.body.error, 'invalid_client');
  });

  it('refuses TLS 1.1 and below', async () => {
    const err = await new Promise<Error | undefined>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: gh.ports.mtls!, servername: 'localhost', rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => {
        socket.end();
        resolve(undefined);
      });
      socket.on('error', resolve);
    });
    assert.ok(err, 'a TLS 1.1 handshake succeeded');
  });

  it('reloads the CA bundle and the server certificate when the files change, without a restart', async () => {
    const token = () => curl(`${gh.mtlsUrl}/token`, { cacert: pki.rootCa, cert: acmeClient.cert, key: acmeClient.key, data: 'client_id=rotating&grant_type=client_credentials' });
    assert.equal((await token()).status, 401, 'the Acme CA is not trusted yet');

    writeFileSync(caFile, readFileSync(pki.rootCa, 'utf8') + acmeCaPem);
    await until('the new CA bundle to apply', async () => ((await token()).status === 200 ? true : undefined));

    const before = await serverFingerprint();
    const ca = { certPem: readFileSync(pki.rootCa, 'utf8'), keyPem: readFileSync(join(dir, 'certs', 'root_ca.key'), 'utf8') };
    const next = await issueCertificate(ca, { commonName: 'localhost', sans: { dns: ['localhost'], ip: ['127.0.0.1', '::1'] }, days: 30, usage: 'server' });
    writeFileSync(pki.serverKey, next.keyPem, { mode: 0o600 });
    writeFileSync(pki.serverCert, next.certPem);
    const after = await until('the new server certificate to be served', async () => {
      const fp = await serverFingerprint();
      return fp !== before ? fp : undefined;
    });
    assert.notEqual(after, before);
    assert.ok(gh.logs.some((l) => l.event === 'mtls_reloaded'));
    assert.equal((await token()).status, 200, 'clients still authenticate after the rotation');
  });

  it('a broken replacement (key not matching the certificate) is logged and the previous files stay in use', async () => {
    const before = await serverFingerprint();
    const stray = await createRootCa('stray', 1);
    writeFileSync(pki.serverKey, stray.keyPem, { mode: 0o600 });
    const failed = await until('the failed reload to be logged', async () => gh.logs.find((l) => l.event === 'mtls_reload_failed'));
    assert.equal(await serverFingerprint(), before);
    // The line says which file is at fault.
    assert.match(String((failed.err as { message?: string }).message), new RegExp(`GATEHOUSE_MTLS_KEY_FILE ${pki.serverKey} does not match the certificate in GATEHOUSE_MTLS_CERT_FILE`));
    writeFileSync(pki.serverKey, 'not a key\n', { mode: 0o600 });
    const unreadable = await until('the next failed reload to be logged', async () => gh.logs.filter((l) => l.event === 'mtls_reload_failed')[1]);
    assert.match(String((unreadable.err as { message?: string }).message), new RegExp(`GATEHOUSE_MTLS_KEY_FILE ${pki.serverKey} is not a PEM private key`));
    assert.equal(await serverFingerprint(), before);
  });
});
