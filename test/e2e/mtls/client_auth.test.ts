import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { clientsFile, curl, tlsClient } from '../../helpers/mtls_curl.ts';
import { devPki, jwkWithX5c, opensslCa, opensslIssue, opensslSelfSigned, type Pair } from '../../helpers/pki.ts';

// RFC 8705 client authentication over the real mTLS listener with the real curl binary: each
// subject field, a company CA made with openssl, self-signed certificates, and every refusal.
let dir: string;
let gh: TestServer;
let rootCa: string;
const certs: Record<string, Pair> = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-mtls-auth-'));
  const certsDir = join(dir, 'certs');
  const pki = await devPki(certsDir);
  certs.dn = await pki.issue(dir, 'svc-dn');
  certs.dns = await pki.issue(dir, 'svc-dns', { dns: ['billing.internal.example'] });
  certs.uri = await pki.issue(dir, 'svc-uri', { uri: ['spiffe://example.org/ns/prod/sa/billing'] });
  certs.ip = await pki.issue(dir, 'svc-ip', { ip: ['2001:db8::10', '10.1.2.3'] });
  certs.email = await pki.issue(dir, 'svc-email', { email: ['billing@example.com'] });
  certs.other = await pki.issue(dir, 'other', { dns: ['other.example'], uri: ['spiffe://example.org/ns/prod/sa/other'], ip: ['10.9.9.9'], email: ['other@example.com'] });
  certs.expired = await pki.issue(dir, 'expired', { email: ['billing@example.com'] }, { offsetDays: -10, days: 2 });
  certs.future = await pki.issue(dir, 'future', { email: ['billing@example.com'] }, { offsetDays: 2, days: 10 });

  const acme = await opensslCa(dir, 'acme-root', '/O=Acme Corp/CN=Acme Corp Root');
  certs.acme = await opensslIssue(dir, acme, 'payments', '/O=Acme Corp/OU=Payments/CN=payments-svc', ['subjectAltName=DNS:payments.acme.example']);
  // The same client, but its certificate carries an extension no one here knows, marked critical.
  certs.acmeCritical = await opensslIssue(dir, acme, 'payments-critical', '/O=Acme Corp/OU=Payments/CN=payments-svc', ['subjectAltName=DNS:payments.acme.example', '1.2.3.4.5=critical,ASN1:UTF8String:x']);
  const impostor = await opensslCa(dir, 'impostor-root', '/O=Acme Corp/CN=Acme Corp Root');
  certs.impostor = await opensslIssue(dir, impostor, 'impostor', '/O=Acme Corp/OU=Payments/CN=payments-svc', ['subjectAltName=DNS:payments.acme.example']);
  certs.selfSigned = await opensslSelfSigned(dir, 'robot');
  certs.selfSignedOther = await opensslSelfSigned(dir, 'robot-2');

  rootCa = pki.rootCa;
  // As an operator would copy it: `openssl x509 -noout -fingerprint -sha256` (colon-separated hex).
  const acmeFingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', acme.cert], { encoding: 'utf8' }).trim().split('=')[1]!;
  const bundle = join(dir, 'trusted.pem');
  writeFileSync(bundle, readFileSync(pki.rootCa, 'utf8') + readFileSync(acme.cert, 'utf8'));

  gh = await startTestServer({
    GATEHOUSE_MTLS_CERT_FILE: pki.serverCert,
    GATEHOUSE_MTLS_KEY_FILE: pki.serverKey,
    GATEHOUSE_MTLS_CA_FILE: bundle,
    GATEHOUSE_CLIENTS_FILE: clientsFile([
      tlsClient('svc-dn', { tls_client_auth_subject_dn: 'cn = SVC-DN' }),
      tlsClient('svc-dns', { tls_client_auth_san_dns: 'Billing.Internal.Example.' }),
      tlsClient('svc-uri', { tls_client_auth_san_uri: 'spiffe://example.org/ns/prod/sa/billing' }),
      tlsClient('svc-ip', { tls_client_auth_san_ip: '2001:0db8:0:0:0:0:0:0010' }),
      tlsClient('svc-ip4', { tls_client_auth_san_ip: '10.1.2.3' }),
      tlsClient('svc-email', { tls_client_auth_san_email: 'billing@EXAMPLE.com' }),
      tlsClient('payments', { tls_client_auth_subject_dn: 'CN=payments-svc,OU=Payments,O=Acme Corp' }),
      tlsClient('payments-pinned', { tls_client_auth_subject_dn: 'CN=payments-svc,OU=Payments,O=Acme Corp' }, { tls_client_auth_ca_sha256: acmeFingerprint }),
      tlsClient('email-pinned-to-acme', { tls_client_auth_san_email: 'billing@example.com' }, { tls_client_auth_ca_sha256: acmeFingerprint }),
      {
        client_id: 'robot',
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        jwks: { keys: [jwkWithX5c(certs.selfSigned.cert)] },
      },
    ]),
  });
});
after(async () => {
  await gh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const token = (clientId: string, pair?: Pair) =>
  curl(`${gh.mtlsUrl}/token`, { cacert: rootCa, cert: pair?.cert, key: pair?.key, data: `client_id=${clientId}&grant_type=client_credentials` });

function assertToken(res: Awaited<ReturnType<typeof curl>>): void {
  assert.equal(res.status, 200, res.raw);
  assert.equal(res.body.token_type, 'Bearer');
  assert.equal(typeof res.body.access_token, 'string');
}

function assertInvalidClient(res: Awaited<ReturnType<typeof curl>>, description?: RegExp): void {
  assert.equal(res.status, 401, res.raw);
  assert.equal(res.body.error, 'invalid_client', res.raw);
  if (description) assert.match(String(res.body.error_description), description);
  // A refusal never shows where the server keeps its files or what it trusts.
  assert.doesNotMatch(res.raw, /\/tmp\/|gh-mtls-auth|\.pem|\.crt|Acme Corp Root|Development Root/);
}

/** The last client_certificate_refused log line. */
const lastRefusal = () => gh.logs.filter((l) => l.event === 'client_certificate_refused').at(-1) ?? {};

describe('tls_client_auth subject fields', () => {
  for (const [clientId, good, label] of [
    ['svc-dn', 'dn', 'subject DN (normalised: spacing and case)'],
    ['svc-dns', 'dns', 'SAN DNS (case and trailing dot)'],
    ['svc-uri', 'uri', 'SAN URI (SPIFFE ID)'],
    ['svc-ip', 'ip', 'SAN IPv6 (uncompressed registration)'],
    ['svc-ip4', 'ip', 'SAN IPv4'],
    ['svc-email', 'email', 'SAN email (domain case)'],
  ] as const) {
    it(`${label}: accepted when it matches, refused when it does not`, async () => {
      assertToken(await token(clientId, certs[good]));
      const field = { dn: 'tls_client_auth_subject_dn', dns: 'tls_client_auth_san_dns', uri: 'tls_client_auth_san_uri', ip: 'tls_client_auth_san_ip', email: 'tls_client_auth_san_email' }[good];
      assertInvalidClient(await token(clientId, certs.other), new RegExp(`does not match the client's registered ${field}$`));
      assert.equal(lastRefusal().reason, 'subject_mismatch');
      assert.equal(lastRefusal().field, field);
    });
  }

  it('a company CA created with openssl and configured as trusted works with its full DN', async () => {
    assertToken(await token('payments', certs.acme));
  });
});

describe('per-client pinning of the issuing CA (tls_client_auth_ca_sha256)', () => {
  it('accepts a certificate from the pinned CA', async () => {
    assertToken(await token('payments-pinned', certs.acme));
  });
  it('refuses a matching certificate from another trusted CA', async () => {
    assertToken(await token('svc-email', certs.email));
    assertInvalidClient(await token('email-pinned-to-acme', certs.email), /not issued by the CA registered in tls_client_auth_ca_sha256/);
    assert.equal(lastRefusal().reason, 'issuer_not_pinned');
  });
});

describe('refusals are 401 invalid_client and say which check failed', () => {
  it('no certificate', async () => {
    assertInvalidClient(await token('svc-email'), /^no client certificate was presented/);
    assert.equal(lastRefusal().reason, 'no_certificate');
  });
  it('another CA with the same subject name issuing a certificate with the same subject', async () => {
    assertInvalidClient(await token('payments', certs.impostor), /not issued by a CA this server trusts/);
    assert.equal(lastRefusal().reason, 'untrusted_issuer');
    assert.match(String(lastRefusal().subject), /CN=payments-svc/);
  });
  it('an expired certificate', async () => {
    assertInvalidClient(await token('svc-email', certs.expired), /^the client certificate has expired \(not valid after \d{4}-/);
    assert.equal(lastRefusal().reason, 'expired');
  });
  it('a certificate that is not yet valid', async () => {
    assertInvalidClient(await token('svc-email', certs.future), /^the client certificate is not yet valid \(not valid before \d{4}-/);
    assert.equal(lastRefusal().reason, 'not_yet_valid');
  });
  it('a certificate with a critical extension the server does not process (RFC 5280 §4.2), naming its OID', async () => {
    assertInvalidClient(await token('payments', certs.acmeCritical), /^the client certificate has a critical extension this server does not process \(1\.2\.3\.4\.5\)/);
    assert.equal(lastRefusal().reason, 'unknown_critical_extension');
    assert.equal(lastRefusal().detail, '1.2.3.4.5 on leaf O=Acme Corp, OU=Payments, CN=payments-svc');
  });
  it('a self-signed certificate for a tls_client_auth client', async () => {
    assertInvalidClient(await token('svc-dn', certs.selfSigned), /not issued by a CA this server trusts/);
  });
  it('the public listener never sees a certificate, so a tls_client_auth client cannot authenticate there', async () => {
    const res = await curl(`${gh.publicUrl}/token`, { data: 'client_id=svc-email&grant_type=client_credentials' });
    assertInvalidClient(res, /no client certificate was presented; send one in the TLS handshake to the mtls_endpoint_aliases/);
  });
  it('other client authentication failures keep oidc-provider\'s own description', async () => {
    const res = await curl(`${gh.mtlsUrl}/token`, { cacert: rootCa, cert: certs.email!.cert, key: certs.email!.key, data: 'client_id=svc-email&client_secret=x&grant_type=client_credentials' });
    assertInvalidClient(res, /^client authentication failed$/);
  });
});

describe('self_signed_tls_client_auth', () => {
  it('accepts the certificate registered in the client jwks (x5c), whatever its issuer', async () => {
    assertToken(await token('robot', certs.selfSigned));
  });
  it('refuses a self-signed certificate that is not in the jwks, and no certificate', async () => {
    assertInvalidClient(await token('robot', certs.selfSignedOther));
    assertInvalidClient(await token('robot'));
  });
  it('works the same for a stored client (read through the client cache, whose record is shared and frozen), request after request', async () => {
    await gh.store.upsert('Client', 'stored-robot', {
      client_id: 'stored-robot',
      token_endpoint_auth_method: 'self_signed_tls_client_auth',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      jwks: { keys: [jwkWithX5c(certs.selfSigned!.cert)] },
    });
    for (let i = 0; i < 3; i++) assertToken(await token('stored-robot', certs.selfSigned));
    assertInvalidClient(await token('stored-robot', certs.selfSignedOther));
  });
});
