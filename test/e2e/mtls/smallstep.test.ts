import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Accounts } from '../../../src/accounts/account.ts';
import { curl } from '../../helpers/curl.ts';
import { ALICE, approveWithForms } from '../../helpers/device.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { startSmallstepCa, type SmallstepCa } from './smallstep.ts';

// The Smallstep walkthrough with the real step-ca and step (test/setup/step.sh), replayed with curl:
// a CA that issues from an intermediate, Gatehouse trusting only its root, the client sending the
// intermediate in the handshake. Every refusal says why.
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
let dir: string;
let ca: SmallstepCa;
let gh: TestServer;
let mtls: string;
let clientId: string;

/** Issues `<name>.crt` (leaf + intermediate, as step writes it) and `<name>.key` from step-ca. */
async function issue(subject: string, name: string, extra: string[] = []): Promise<{ cert: string; key: string }> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await ca.step(['ca', 'certificate', subject, pair.cert, pair.key, '--provisioner', ca.provisioner, '--provisioner-password-file', ca.passwordFile, ...extra]);
  return pair;
}

const leafOf = (certPath: string) => new X509Certificate(readFileSync(certPath));
const thumbprint = (certPath: string) => createHash('sha256').update(leafOf(certPath).raw).digest('base64url');

/** curl over mutual TLS to Gatehouse, trusting the step CA's root for the server certificate. */
const onMtls = (path: string, pair: { cert: string; key: string } | undefined, args: string[]) =>
  curl(['--cacert', ca.rootCa, ...(pair ? ['--cert', pair.cert, '--key', pair.key] : []), ...args, `${mtls}${path}`]);

const token = (pair: { cert: string; key: string } | undefined, id = clientId) => onMtls('/token', pair, ['-d', `client_id=${id}&grant_type=client_credentials`]);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-smallstep-'));
  ca = await startSmallstepCa(dir);
  const server = await issue('localhost', 'server');
  gh = await startTestServer({
    GATEHOUSE_MTLS_CERT_FILE: server.cert,
    GATEHOUSE_MTLS_KEY_FILE: server.key,
    GATEHOUSE_MTLS_CA_FILE: ca.rootCa,
  });
  mtls = gh.mtlsUrl!;
});
after(async () => {
  await gh?.stop();
  await ca?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function refused(res: Awaited<ReturnType<typeof curl>>, description: RegExp, reason: string): void {
  assert.equal(res.status, 401, res.body);
  assert.equal(res.json.error, 'invalid_client', res.body);
  assert.match(String(res.json.error_description), description);
  assert.equal(gh.logs.filter((l) => l.event === 'client_certificate_refused').at(-1)?.reason, reason);
}

describe('Smallstep step-ca: leaves from an intermediate, Gatehouse trusting the root only', () => {
  let curlCert: { cert: string; key: string };

  it('registration with curl on the mTLS origin', async () => {
    const doc = '{"redirect_uris":[],"response_types":[],"grant_types":["client_credentials"],"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_email":"curl@example.com"}';
    const r = await curl(['--cacert', ca.rootCa, '-H', 'Content-Type: application/json', '-d', doc, `${mtls}/reg`]);
    assert.equal(r.status, 201, r.body);
    clientId = String(r.json.client_id);
  });

  it('`step ca certificate curl@example.com` (leaf + intermediate in curl.crt) gets a token', async () => {
    curlCert = await issue('curl@example.com', 'curl');
    assert.equal(readFileSync(curlCert.cert, 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 2, 'step writes the leaf and the intermediate');
    const r = await token(curlCert);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.token_type, 'Bearer');
  });

  it('`step ca renew` gives a new certificate that keeps working', async () => {
    const before = leafOf(curlCert.cert).serialNumber;
    await ca.step(['ca', 'renew', '--force', curlCert.cert, curlCert.key]);
    assert.notEqual(leafOf(curlCert.cert).serialNumber, before);
    const r = await token(curlCert);
    assert.equal(r.status, 200, r.body);
  });

  it('another subject from the same CA: does not match tls_client_auth_san_email', async () => {
    refused(await token(await issue('other@example.com', 'other')), /does not match the client's registered tls_client_auth_san_email$/, 'subject_mismatch');
  });

  it('a self-signed certificate with the same SAN: not issued by a trusted CA', async () => {
    const self = { cert: join(dir, 'self.crt'), key: join(dir, 'self.key') };
    await ca.step(['certificate', 'create', 'curl@example.com', self.cert, self.key, '--profile', 'self-signed', '--subtle', '--no-password', '--insecure', '--san', 'curl@example.com']);
    refused(await token(self), /is self-signed: not issued by a CA this server trusts .*self_signed_tls_client_auth/, 'untrusted_issuer');
  });

  it('the leaf without its intermediate: not issued by a trusted CA (send the intermediates)', async () => {
    const bare = { cert: join(dir, 'bare.crt'), key: curlCert.key };
    writeFileSync(bare.cert, `${leafOf(curlCert.cert).toString()}\n`);
    refused(await token(bare), /send the intermediate CA certificates with it/, 'untrusted_issuer');
  });

  it('a not yet valid certificate from step-ca: says so', async () => {
    refused(await token(await issue('curl@example.com', 'future', ['--not-before', '1h', '--not-after', '3h'])), /^the client certificate is not yet valid/, 'not_yet_valid');
  });

  it('an expired certificate from the same intermediate (backdated with its key): says so', async () => {
    const expired = { cert: join(dir, 'expired.crt'), key: join(dir, 'expired.key') };
    await ca.step([
      'certificate', 'create', 'curl@example.com', expired.cert, expired.key, '--profile', 'leaf', '--bundle',
      '--ca', join(ca.caPath, 'certs', 'intermediate_ca.crt'), '--ca-key', join(ca.caPath, 'secrets', 'intermediate_ca_key'), '--ca-password-file', ca.passwordFile,
      '--not-before', '-48h', '--not-after', '-24h', '--san', 'curl@example.com', '--no-password', '--insecure',
    ]);
    refused(await token(expired), /^the client certificate has expired/, 'expired');
  });

  it('no certificate: says so', async () => {
    refused(await token(undefined), /^no client certificate was presented/, 'no_certificate');
  });
});

describe('certificate-bound access tokens with step-ca certificates', () => {
  it('a client registered with tls_client_certificate_bound_access_tokens gets cnf.x5t#S256; another certificate is refused', async () => {
    await new Accounts(gh.store).create(ALICE);
    const doc = JSON.stringify({
      redirect_uris: [], response_types: [], grant_types: [DEVICE_GRANT], token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_san_email: 'bound@example.com', tls_client_certificate_bound_access_tokens: true,
    });
    const reg = await curl(['--cacert', ca.rootCa, '-H', 'Content-Type: application/json', '-d', doc, `${mtls}/reg`]);
    assert.equal(reg.status, 201, reg.body);
    const id = String(reg.json.client_id);
    const mine = await issue('bound@example.com', 'bound');
    const other = await issue('bound@example.com', 'bound-2');

    // Device flow: the client authenticates with its certificate, alice approves on the public pages.
    const auth = await onMtls('/device/auth', mine, ['-d', `client_id=${id}&scope=openid`]);
    assert.equal(auth.status, 200, auth.body);
    await approveWithForms(gh, String(auth.json.user_code));
    const issued = await onMtls('/token', mine, ['-d', `client_id=${id}&grant_type=${encodeURIComponent(DEVICE_GRANT)}&device_code=${String(auth.json.device_code)}`]);
    assert.equal(issued.status, 200, issued.body);
    const accessToken = String(issued.json.access_token);

    const introspection = await onMtls('/token/introspection', mine, ['-d', `client_id=${id}&token=${accessToken}`]);
    assert.equal(introspection.status, 200, introspection.body);
    assert.deepEqual(introspection.json.cnf, { 'x5t#S256': thumbprint(mine.cert) });

    const me = (pair: { cert: string; key: string }) => onMtls('/me', pair, ['-H', `Authorization: Bearer ${accessToken}`]);
    assert.equal((await me(mine)).status, 200);
    const refusedWithOther = await me(other);
    assert.equal(refusedWithOther.status, 401, refusedWithOther.body);
    assert.equal(refusedWithOther.json.error, 'invalid_token');
    // The response stays RFC 6750's generic invalid_token; the log says it was the certificate binding.
    const line = gh.logs.filter((l) => l.event === 'userinfo.error').at(-1);
    assert.equal(line?.error_detail, 'failed x5t#S256 verification', JSON.stringify(line));
    assert.equal(line?.level, 'info', 'logged at info, as certificate refusals are');
  });
});
