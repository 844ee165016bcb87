import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { verifyClientCertificate, type Verdict } from '../../src/pki/chain.ts';
import { presentedCertificate } from '../../src/pki/presented_certificate.ts';
import { refusalDescription } from '../../src/pki/refusal.ts';
import { trustSnapshot } from '../../src/pki/trust.ts';
import { opensslCa, opensslIssue, type Pair } from '../helpers/pki.ts';

// RFC 5280 §4.2 critical extensions and the leaf's key usage, on certificates made by the real
// openssl (root → issuing CA → leaf, or another CA under the root), judged by chain.ts and, where
// Gatehouse means to agree with it, by `openssl verify -purpose sslclient` too.
const UNKNOWN = '1.2.3.4.5';
const certs: Record<string, Pair> = {};
let dir: string;

const load = (pair: Pair) => new X509Certificate(readFileSync(pair.cert));
/** Our verdict on `leaf` sent with `chain`, trusting `anchor` (the openssl root by default). */
const judge = (leaf: Pair, chain: Pair[] = [certs.issuing!], anchor: Pair = certs.root!) =>
  verifyClientCertificate(presentedCertificate([leaf, ...chain].map(load), 'tls')!, trustSnapshot([load(anchor)]));
const reasonOf = (verdict: Verdict) => (verdict.ok ? 'ok' : verdict.reason);
const refusal = (verdict: Verdict) => {
  assert.ok(!verdict.ok, 'refused');
  return verdict;
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-extensions-'));
  const root = await opensslCa(dir, 'root', '/O=Acme/CN=Acme Root');
  const ca = (name: string, cn: string, extensions: string[] = []) => opensslIssue(dir, root, name, `/O=Acme/CN=${cn}`, extensions, { intermediateCa: true });
  const leaf = (name: string, extensions: string[], issuer = certs.issuing!) => opensslIssue(dir, issuer, name, `/O=Acme/CN=${name}`, extensions);
  Object.assign(certs, {
    root,
    issuing: await ca('issuing', 'Acme Issuing CA'),
    oddCa: await ca('odd-ca', 'Odd CA', [`${UNKNOWN}=critical,ASN1:UTF8String:x`]),
    plainOddCa: await ca('plain-odd-ca', 'Plain Odd CA', [`${UNKNOWN}=ASN1:UTF8String:x`]),
    constrainedCa: await ca('constrained-ca', 'Constrained CA', ['nameConstraints=critical,permitted;DNS:acme.example']),
    policyCa: await ca('policy-ca', 'Policy CA', ['certificatePolicies=critical,1.2.3']),
    ekuCa: await ca('eku-ca', 'EKU CA', ['extendedKeyUsage=critical,clientAuth']),
    brokenCa: await ca('broken-ca', 'Broken CA', ['2.5.29.37=DER:0500']),
  });
  Object.assign(certs, {
    criticalLeaf: await leaf('critical', [`${UNKNOWN}=critical,ASN1:UTF8String:x`]),
    plainLeaf: await leaf('plain', [`${UNKNOWN}=ASN1:UTF8String:x`]),
    recognizedLeaf: await leaf('recognized', ['basicConstraints=critical,CA:FALSE', 'extendedKeyUsage=critical,clientAuth', 'keyUsage=critical,digitalSignature', 'subjectAltName=critical,DNS:svc.acme.example']),
    certSignLeaf: await leaf('cert-sign', ['keyUsage=critical,keyCertSign']),
    signingLeaf: await leaf('signing', ['keyUsage=critical,digitalSignature']),
    agreementLeaf: await leaf('agreement', ['keyUsage=critical,keyAgreement']),
    noKeyUsageLeaf: await leaf('no-key-usage', []),
    caLeaf: await leaf('ca-leaf', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature']),
    caCertSignLeaf: await leaf('ca-cert-sign-leaf', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']),
    brokenLeaf: await leaf('broken', ['2.5.29.15=critical,DER:0500']),
    underOdd: await leaf('under-odd', [], certs.oddCa),
    underPlainOdd: await leaf('under-plain-odd', [], certs.plainOddCa),
    underConstrained: await leaf('under-constrained', [], certs.constrainedCa),
    underPolicy: await leaf('under-policy', [], certs.policyCa),
    underEku: await leaf('under-eku', [], certs.ekuCa),
    underBroken: await leaf('under-broken', [], certs.brokenCa),
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('critical extensions (RFC 5280 §4.2)', () => {
  it('an unknown critical extension on the leaf: unknown_critical_extension naming the OID; not critical, it is ignored', () => {
    const verdict = refusal(judge(certs.criticalLeaf!));
    assert.equal(verdict.reason, 'unknown_critical_extension');
    assert.deepEqual([verdict.certificate, verdict.oids], ['leaf', [UNKNOWN]]);
    assert.equal(verdict.detail, `${UNKNOWN} on leaf O=Acme, CN=critical`);
    assert.match(refusalDescription(verdict), /^the client certificate has a critical extension this server does not process \(1\.2\.3\.4\.5\)/);
    assert.equal(reasonOf(judge(certs.plainLeaf!)), 'ok');
  });

  it('an unknown critical extension on an intermediate the client sends is refused; the same CA as the anchor is not judged (RFC 5280 §6.1.1 (d))', () => {
    const verdict = refusal(judge(certs.underOdd!, [certs.oddCa!]));
    assert.equal(verdict.reason, 'unknown_critical_extension');
    assert.deepEqual([verdict.certificate, verdict.oids], ['intermediate', [UNKNOWN]]);
    assert.equal(verdict.detail, `${UNKNOWN} on intermediate O=Acme, CN=Odd CA`);
    assert.match(refusalDescription(verdict), /^a CA certificate sent with the client certificate has a critical extension this server does not process \(1\.2\.3\.4\.5\)/);
    assert.equal(reasonOf(judge(certs.underPlainOdd!, [certs.plainOddCa!])), 'ok');
    assert.equal(reasonOf(judge(certs.underOdd!, [], certs.oddCa)), 'ok');
  });

  it('critical extensions the check processes pass; critical nameConstraints, certificatePolicies or a CA\'s extKeyUsage, which it does not, are refused', () => {
    assert.equal(reasonOf(judge(certs.recognizedLeaf!)), 'ok');
    for (const [leaf, ca, oid] of [
      ['underConstrained', 'constrainedCa', '2.5.29.30'],
      ['underPolicy', 'policyCa', '2.5.29.32'],
      ['underEku', 'ekuCa', '2.5.29.37'],
    ] as const) {
      const verdict = refusal(judge(certs[leaf]!, [certs[ca]!]));
      assert.equal(verdict.reason, 'unknown_critical_extension', ca);
      assert.deepEqual([verdict.certificate, verdict.oids], ['intermediate', [oid]], ca);
    }
  });

  it('an extension that does not decode is malformed_extension wherever it is on the path, never an exception', () => {
    const leaf = refusal(judge(certs.brokenLeaf!));
    assert.deepEqual([leaf.reason, leaf.certificate], ['malformed_extension', 'leaf']);
    assert.equal(refusalDescription(leaf), 'the client certificate has an extension that cannot be decoded');
    const intermediate = refusal(judge(certs.underBroken!, [certs.brokenCa!]));
    assert.deepEqual([intermediate.reason, intermediate.certificate], ['malformed_extension', 'intermediate']);
    const anchor = refusal(judge(certs.underBroken!, [], certs.brokenCa));
    assert.deepEqual([anchor.reason, anchor.certificate], ['malformed_extension', 'anchor']);
  });
});

describe('the leaf\'s key usage (RFC 5280 §4.2.1.3)', () => {
  it('keyCertSign alone is key_usage_not_for_client_auth; digitalSignature, keyAgreement or no keyUsage at all is accepted', () => {
    const verdict = refusal(judge(certs.certSignLeaf!));
    assert.equal(verdict.reason, 'key_usage_not_for_client_auth');
    assert.equal(verdict.detail, 'keyUsage keyCertSign');
    assert.match(refusalDescription(verdict), /key usage allows neither digitalSignature nor keyAgreement/);
    for (const leaf of ['signingLeaf', 'agreementLeaf', 'noKeyUsageLeaf'] as const) assert.equal(reasonOf(judge(certs[leaf]!)), 'ok', leaf);
  });

  it('a cA:TRUE leaf is judged by its key usage, as openssl does, not refused for being a CA', () => {
    assert.equal(reasonOf(judge(certs.caLeaf!)), 'ok');
    assert.equal(reasonOf(judge(certs.caCertSignLeaf!)), 'key_usage_not_for_client_auth');
  });
});

const opensslVerify = promisify(execFile);
/** Whether `openssl verify -purpose sslclient` accepts `leaf` sent with the issuing CA under the root. */
async function opensslAccepts(leaf: Pair, intermediate: Pair): Promise<boolean> {
  try {
    await opensslVerify('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', certs.root!.cert, '-untrusted', intermediate.cert, leaf.cert]);
    return true;
  } catch {
    return false;
  }
}

describe('agreement with openssl', () => {
  // Where Gatehouse means to differ it is stricter: critical nameConstraints, certificatePolicies
  // or a CA's extKeyUsage (not processed here) are refused, and a configured anchor's critical
  // extensions are not judged (RFC 5280 §6.1.1 (d); openssl judges them).
  it('judges every leaf and intermediate of the key-usage and unknown-extension cases as `openssl verify -purpose sslclient` does', async () => {
    const cases = [
      ...(['criticalLeaf', 'plainLeaf', 'recognizedLeaf', 'certSignLeaf', 'signingLeaf', 'agreementLeaf', 'noKeyUsageLeaf', 'caLeaf', 'caCertSignLeaf', 'brokenLeaf'] as const).map((leaf) => [leaf, 'issuing'] as const),
      ['underOdd', 'oddCa'],
      ['underPlainOdd', 'plainOddCa'],
      ['underBroken', 'brokenCa'],
    ] as const;
    for (const [leaf, ca] of cases) {
      assert.equal(judge(certs[leaf]!, [certs[ca]!]).ok, await opensslAccepts(certs[leaf]!, certs[ca]!), leaf);
    }
  });
});
