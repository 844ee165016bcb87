import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCertificateHeader } from '../../src/http/client_certificate.ts';
import { subjectMatches, verifyClientCertificate } from '../../src/pki/client_certificate.ts';
import { opensslCa, opensslIssue } from '../helpers/pki.ts';

// Path building against a company PKI made with openssl: root → issuing CA → client.
let dir: string;
let root: X509Certificate;
let intermediate: X509Certificate;
let leaf: X509Certificate;
let serverOnly: X509Certificate;

const load = (path: string) => new X509Certificate(readFileSync(path));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-chain-'));
  const rootPair = await opensslCa(dir, 'root', '/O=Acme/CN=Acme Root');
  const issuing = await opensslIssue(dir, rootPair, 'issuing', '/O=Acme/CN=Acme Issuing CA', [], { intermediateCa: true });
  const client = await opensslIssue(dir, issuing, 'client', '/O=Acme/CN=svc', ['subjectAltName=DNS:svc.acme.example,IP:fd00::1']);
  const server = await opensslIssue(dir, issuing, 'server', '/O=Acme/CN=server', ['extendedKeyUsage=serverAuth']);
  root = load(rootPair.cert);
  intermediate = load(issuing.cert);
  leaf = load(client.cert);
  serverOnly = load(server.cert);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('client certificate path validation', () => {
  it('accepts a leaf whose presented issuing CA chains to a trusted root', () => {
    const verdict = verifyClientCertificate({ leaf, chain: [intermediate], source: 'tls' }, [root]);
    assert.equal(verdict.ok, true);
  });
  it('refuses the same leaf without its issuing CA, or with only the issuing CA trusted by name', () => {
    assert.deepEqual(verifyClientCertificate({ leaf, chain: [], source: 'tls' }, [root]), { ok: false, reason: 'untrusted_issuer' });
    assert.deepEqual(verifyClientCertificate({ leaf, chain: [intermediate], source: 'tls' }, []), { ok: false, reason: 'untrusted_issuer' });
  });
  it('trusting the issuing CA directly is enough', () => {
    assert.equal(verifyClientCertificate({ leaf, chain: [], source: 'tls' }, [intermediate]).ok, true);
  });
  it('refuses a certificate whose extended key usage excludes client authentication', () => {
    // openssl's extfile takes the last extendedKeyUsage line: serverAuth only.
    const verdict = verifyClientCertificate({ leaf: serverOnly, chain: [intermediate], source: 'tls' }, [root]);
    assert.deepEqual(verdict, { ok: false, reason: 'not_for_client_auth' });
  });
  it('refuses a certificate outside its validity window', () => {
    const past = leaf.validFromDate.getTime() - 1000;
    const future = leaf.validToDate.getTime() + 1000;
    assert.deepEqual(verifyClientCertificate({ leaf, chain: [intermediate], source: 'tls' }, [root], past), { ok: false, reason: 'not_yet_valid' });
    assert.deepEqual(verifyClientCertificate({ leaf, chain: [intermediate], source: 'tls' }, [root], future), { ok: false, reason: 'expired' });
  });
  it('matches SAN IP addresses written differently', () => {
    assert.ok(subjectMatches(leaf, 'tls_client_auth_san_ip', 'fd00:0:0:0:0:0:0:1'));
    assert.ok(!subjectMatches(leaf, 'tls_client_auth_san_ip', 'fd00::2'));
    assert.ok(subjectMatches(leaf, 'tls_client_auth_subject_dn', 'CN=svc,O=Acme'));
    assert.ok(!subjectMatches(leaf, 'tls_client_auth_subject_dn', 'CN=svc'));
    assert.ok(!subjectMatches(leaf, 'tls_client_auth_unknown', 'svc'));
  });
  it('reads a leaf and its chain from a proxy header, capping the chain length', () => {
    const pem = leaf.toString() + intermediate.toString().repeat(20);
    const presented = parseCertificateHeader(encodeURIComponent(pem));
    assert.ok(presented);
    assert.equal(presented.leaf.fingerprint256, leaf.fingerprint256);
    assert.ok(presented.chain.length <= 7);
    assert.equal(verifyClientCertificate(presented, [root]).ok, true);
  });
});
