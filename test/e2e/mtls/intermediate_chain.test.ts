import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { clientsFile, curl, tlsClient } from '../../helpers/mtls_curl.ts';
import { devPki, opensslCa, opensslIssue, type Pair } from '../../helpers/pki.ts';
import { KeyUsageFlags, make, root as makeRoot, type Made } from '../../pki/chain_factory.ts';

// A company PKI made with openssl (root → issuing CA → client) with only the root trusted: the
// intermediate the client sends in the handshake completes the path, also on a resumed TLS
// session (which carries no certificates), and so does a chain a trusted proxy forwards.
let dir: string;
let gh: TestServer;
let serverCa: string;
let bundle: Pair;
let leafOnly: Pair;
/** Chains made to break one rule, under a second trusted root. */
const broken: Record<'expiredIssuer' | 'serverOnly' | 'noCertSign', Pair> = {} as never;
/** root → Int 1 → Int 2 → svc, the CAs sent out of order: Int 1 before Int 2, or the root first. */
const unordered: Record<'reversed' | 'rootFirst', Pair> = {} as never;

/** Writes a made certificate (with the CAs to send along) and its key as PEM files. */
function writePair(name: string, leaf: Made, ...chain: Made[]): Pair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  writeFileSync(pair.cert, [leaf, ...chain].map((c) => c.cert.toString()).join(''));
  writeFileSync(pair.key, KeyObject.from(leaf.keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  return pair;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-chain-e2e-'));
  const pki = await devPki(join(dir, 'certs'));
  serverCa = pki.rootCa;
  const root = await opensslCa(dir, 'root', '/O=Acme/CN=Acme Root');
  const issuing = await opensslIssue(dir, root, 'issuing', '/O=Acme/CN=Acme Issuing CA', [], { intermediateCa: true });
  const client = await opensslIssue(dir, issuing, 'svc', '/O=Acme/CN=svc', ['subjectAltName=DNS:svc.acme.example']);
  bundle = { cert: join(dir, 'svc-bundle.crt'), key: client.key };
  writeFileSync(bundle.cert, readFileSync(client.cert, 'utf8') + readFileSync(issuing.cert, 'utf8'));
  leafOnly = client;

  const other = await makeRoot('Other Root');
  const oldIssuing = await make('Old Issuing', other, { ca: true, fromDays: -30, toDays: -1 });
  const issuing2 = await make('Issuing 2', other, { ca: true });
  const svcName = [{ type: 'dns' as const, value: 'svc.acme.example' }];
  broken.expiredIssuer = writePair('old', await make('svc', oldIssuing, { san: svcName, fromDays: -5, toDays: 5 }), oldIssuing);
  broken.serverOnly = writePair('web', await make('svc', issuing2, { san: svcName, eku: ['1.3.6.1.5.5.7.3.1'] }), issuing2);
  const crlOnly = await make('CRL Only', other, { ca: true, keyUsage: KeyUsageFlags.cRLSign });
  broken.noCertSign = writePair('crl-only', await make('svc', crlOnly, { san: svcName }), crlOnly);
  const int1 = await make('Int 1', other, { ca: true });
  const int2 = await make('Int 2', int1, { ca: true });
  const deep = await make('svc', int2, { san: svcName });
  unordered.reversed = writePair('reversed', deep, int1, int2);
  unordered.rootFirst = writePair('root-first', deep, other, int1, int2);
  const trustFile = join(dir, 'trusted.pem');
  writeFileSync(trustFile, readFileSync(root.cert, 'utf8') + other.cert.toString());

  gh = await startTestServer({
    GATEHOUSE_MTLS_CERT_FILE: pki.serverCert,
    GATEHOUSE_MTLS_KEY_FILE: pki.serverKey,
    GATEHOUSE_MTLS_CA_FILE: trustFile,
    GATEHOUSE_CLIENTS_FILE: clientsFile([tlsClient('svc', { tls_client_auth_san_dns: 'svc.acme.example' })]),
    // The same CAs for certificates an Envoy in front of the public listener forwards.
    GATEHOUSE_CLIENT_CERT_HEADER: 'x-forwarded-client-cert',
    GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1,::1',
  });
});
after(async () => {
  await gh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const BODY = 'client_id=svc&grant_type=client_credentials';

/** POST /token with node:https through `agent` (which keeps TLS sessions and offers them again). */
function tokenVia(agent: Agent): Promise<{ status: number; reused: boolean; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gh.mtlsUrl}/token`,
      { method: 'POST', agent, ca: readFileSync(serverCa), cert: readFileSync(bundle.cert), key: readFileSync(bundle.key), headers: { 'content-type': 'application/x-www-form-urlencoded', connection: 'close' } },
      (res) => {
        const reused = (res.socket as TLSSocket).isSessionReused();
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reused, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

describe('intermediates sent in the TLS handshake', () => {
  it('curl with the leaf and its issuing CA gets a token; the leaf alone is told to send the intermediates', async () => {
    const ok = await curl(`${gh.mtlsUrl}/token`, { cacert: serverCa, cert: bundle.cert, key: bundle.key, data: BODY });
    assert.equal(ok.status, 200, ok.raw);
    const bare = await curl(`${gh.mtlsUrl}/token`, { cacert: serverCa, cert: leafOnly.cert, key: leafOnly.key, data: BODY });
    assert.equal(bare.status, 401, bare.raw);
    assert.match(String(bare.body.error_description), /send the intermediate CA certificates with it/);
  });

  it('an expired issuing CA, or a leaf only for TLS servers, is refused saying so', async () => {
    const old = await curl(`${gh.mtlsUrl}/token`, { cacert: serverCa, cert: broken.expiredIssuer.cert, key: broken.expiredIssuer.key, data: BODY });
    assert.equal(old.status, 401, old.raw);
    assert.match(String(old.body.error_description), /a CA certificate in the client certificate's chain is expired, not yet valid, or not allowed to issue it/);
    assert.match(String(gh.logs.filter((l) => l.event === 'client_certificate_refused').at(-1)?.detail), /^expired: CN=Old Issuing/);
    const web = await curl(`${gh.mtlsUrl}/token`, { cacert: serverCa, cert: broken.serverOnly.cert, key: broken.serverOnly.key, data: BODY });
    assert.equal(web.status, 401, web.raw);
    assert.match(String(web.body.error_description), /extended key usage does not allow TLS client authentication/);
  });

  it('an intermediate whose key usage leaves out keyCertSign is refused as not allowed to issue, not as missing', async () => {
    const res = await curl(`${gh.mtlsUrl}/token`, { cacert: serverCa, cert: broken.noCertSign.cert, key: broken.noCertSign.key, data: BODY });
    assert.equal(res.status, 401, res.raw);
    assert.match(String(res.body.error_description), /a CA certificate in the client certificate's chain is expired, not yet valid, or not allowed to issue it/);
    assert.match(String(gh.logs.filter((l) => l.event === 'client_certificate_refused').at(-1)?.detail), /^no_key_cert_sign: CN=CRL Only/);
  });

  it('two intermediates sent in any order, or with the root among them, complete the path (RFC 8446 §4.4.2)', async () => {
    for (const pair of [unordered.reversed, unordered.rootFirst]) {
      const res = await curl(`${gh.mtlsUrl}/token`, { cacert: serverCa, cert: pair.cert, key: pair.key, data: BODY });
      assert.equal(res.status, 200, `${pair.cert}: ${res.raw}`);
    }
  });

  it('a resumed TLS session (no certificates in it) still authenticates with the chain of the full handshake', async () => {
    const agent = new Agent({ keepAlive: false, maxCachedSessions: 10 });
    try {
      const first = await tokenVia(agent);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.reused, false);
      const second = await tokenVia(agent);
      assert.equal(second.reused, true, 'the agent resumed the session');
      assert.equal(second.status, 200, JSON.stringify(second.body));
    } finally {
      agent.destroy();
    }
  });

  it('the handshake asks for a certificate without naming CAs (RFC 8446 §4.2.4), so a client sends the one it has', async () => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${gh.ports.mtls!}`, '-servername', 'localhost', '-CAfile', serverCa, '-cert', bundle.cert, '-key', bundle.key], { timeout: 60_000 });
    child.stdin!.end();
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await once(child, 'close');
    assert.match(out, /No client certificate CA names sent/);
  });
});

describe('intermediates forwarded by a trusted proxy', () => {
  const xfcc = (chain: boolean) => {
    const leaf = readFileSync(leafOnly.cert, 'utf8');
    const all = readFileSync(bundle.cert, 'utf8');
    return `x-forwarded-client-cert: By=spiffe://cluster.local/ns/auth/sa/gatehouse;Hash=abc;Cert="${encodeURIComponent(leaf)}"${chain ? `;Chain="${encodeURIComponent(all)}"` : ''}`;
  };

  it('an Envoy XFCC element with Chain= (forward_client_cert_details with chain) authenticates the client', async () => {
    const res = await curl(`${gh.publicUrl}/token`, { data: BODY, headers: [xfcc(true)] });
    assert.equal(res.status, 200, res.raw);
  });

  it('without Chain= the leaf alone is not enough, and the answer says so', async () => {
    const res = await curl(`${gh.publicUrl}/token`, { data: BODY, headers: [xfcc(false)] });
    assert.equal(res.status, 401, res.raw);
    assert.match(String(res.body.error_description), /send the intermediate CA certificates with it/);
    assert.equal(gh.logs.filter((l) => l.event === 'client_certificate_refused').at(-1)?.source, 'proxy');
  });
});
