import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../helpers/cli.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { clientsFile, curl, tlsClient } from '../../helpers/mtls_curl.ts';

// The Smallstep walkthrough with our own tools: a private CA, a client certificate with an email
// SAN, a tls_client_auth client, and the real curl binary getting a token over mutual TLS.
let dir: string;
let certs: string;
let gh: TestServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-walkthrough-'));
  certs = join(dir, 'certs');
  const init = await runCli(['certs', 'init'], { env: { GATEHOUSE_CERTS_DIR: certs } });
  assert.equal(init.status, 0, init.stderr);
  const issue = await runCli(['certs', 'issue', 'curl', '--san-email', 'curl@example.com', '--out', dir], { env: { GATEHOUSE_CERTS_DIR: certs } });
  assert.equal(issue.status, 0, issue.stderr);
  assert.match(issue.stdout, /tls_client_auth_san_email: curl@example.com/);
  gh = await startTestServer({
    GATEHOUSE_CERTS_DIR: certs,
    GATEHOUSE_CLIENTS_FILE: clientsFile([tlsClient('curl', { tls_client_auth_san_email: 'curl@example.com' })]),
  });
});
after(async () => {
  await gh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Smallstep walkthrough', () => {
  it('`certs init` and `certs issue` write keys readable by their owner only', () => {
    for (const key of [join(certs, 'root_ca.key'), join(certs, 'server.key'), join(dir, 'curl.key')]) {
      assert.equal(statSync(key).mode & 0o777, 0o600, key);
    }
    assert.equal(statSync(join(dir, 'curl.crt')).mode & 0o077, 0o044);
  });

  it('curl --cacert --cert --key … /token returns a Bearer token', async () => {
    const res = await curl(`${gh.mtlsUrl}/token`, {
      cacert: join(certs, 'root_ca.crt'),
      cert: join(dir, 'curl.crt'),
      key: join(dir, 'curl.key'),
      data: 'client_id=curl&grant_type=client_credentials',
    });
    assert.equal(res.status, 200, res.raw);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(typeof res.body.access_token, 'string');
    assert.ok(!gh.logText().includes(res.body.access_token as string), 'token in logs');
    const line = gh.logs.find((l) => l.msg === 'request' && (l.req as { path?: string })?.path === '/token');
    assert.equal((line?.req as { listener?: string })?.listener, 'mtls');
  });

  it('`certs issue` writes every kind of SAN, and the real openssl reads them and verifies the chain', async () => {
    const r = await runCli(
      ['certs', 'issue', 'billing', '--san-dns', 'billing.internal.example', '--san-uri', 'spiffe://example.org/ns/prod/sa/billing', '--san-ip', '10.1.2.3', '--san-ip', '2001:db8::1', '--san-email', 'billing@example.com', '--days', '7', '--out', dir],
      { env: { GATEHOUSE_CERTS_DIR: certs } },
    );
    assert.equal(r.status, 0, r.stderr);
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'billing.crt'), '-noout', '-text'], { encoding: 'utf8' });
    for (const want of ['DNS:billing.internal.example', 'URI:spiffe://example.org/ns/prod/sa/billing', 'IP Address:10.1.2.3', 'IP Address:2001:DB8:0:0:0:0:0:1', 'email:billing@example.com', 'TLS Web Client Authentication', 'Subject: CN = billing']) {
      assert.ok(text.includes(want), `${want} missing from:\n${text}`);
    }
    const verify = execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(certs, 'root_ca.crt'), join(dir, 'billing.crt')], { encoding: 'utf8' });
    assert.match(verify, /: OK/);
  });

  it('`certs init` refuses to overwrite an existing CA', async () => {
    const again = await runCli(['certs', 'init'], { env: { GATEHOUSE_CERTS_DIR: certs } });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists/);
  });

  it('`certs issue` refuses a malformed SAN with exit 2', async () => {
    const r = await runCli(['certs', 'issue', 'bad', '--san-ip', '999.1.1.1', '--out', dir], { env: { GATEHOUSE_CERTS_DIR: certs } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--san-ip "999.1.1.1" is not an IPv4 or IPv6 address/);
    // The old walkthrough's `--san-email curl`: no certificate should carry it, no client could match it.
    const email = await runCli(['certs', 'issue', 'bad', '--san-email', 'curl', '--out', dir], { env: { GATEHOUSE_CERTS_DIR: certs } });
    assert.equal(email.status, 2);
    assert.match(email.stderr, /--san-email "curl" is not an email address \(local-part@domain\)/);
  });
});
