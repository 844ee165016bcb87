import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCertificateHeader } from '../../src/http/certificate_source.ts';
import { MAX_INTERMEDIATES, verifyClientCertificate } from '../../src/pki/chain.ts';
import { MAX_PRESENTED_CHAIN, presentedCertificate } from '../../src/pki/presented_certificate.ts';
import { refusalDescription } from '../../src/pki/refusal.ts';
import { subjectMatches } from '../../src/pki/subject_match.ts';
import { trustSnapshot } from '../../src/pki/trust.ts';
import { opensslCa, opensslIssue } from '../helpers/pki.ts';
import { KeyUsageFlags, make, root as makeRoot, type Made } from './chain_factory.ts';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DAY = 86_400_000;
const tls = (leaf: Made | X509Certificate, ...chain: Array<Made | X509Certificate>) =>
  presentedCertificate([leaf, ...chain].map((c) => (c instanceof X509Certificate ? c : c.cert)), 'tls')!;
const trusting = (...anchors: Made[]) => trustSnapshot(anchors.map((a) => a.cert));

// Path building against a company PKI made with the real openssl: root → issuing CA → client.
describe('a company PKI made with openssl', () => {
  let dir: string;
  let root: X509Certificate;
  let intermediate: X509Certificate;
  let leaf: X509Certificate;
  const load = (path: string) => new X509Certificate(readFileSync(path));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-chain-'));
    const rootPair = await opensslCa(dir, 'root', '/O=Acme/CN=Acme Root');
    const issuing = await opensslIssue(dir, rootPair, 'issuing', '/O=Acme/CN=Acme Issuing CA', [], { intermediateCa: true });
    const client = await opensslIssue(dir, issuing, 'client', '/O=Acme/CN=svc', ['subjectAltName=DNS:svc.acme.example,IP:fd00::1']);
    root = load(rootPair.cert);
    intermediate = load(issuing.cert);
    leaf = load(client.cert);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a leaf whose presented issuing CA chains to a trusted root', () => {
    const verdict = verifyClientCertificate(tls(leaf, intermediate), trustSnapshot([root]));
    assert.equal(verdict.ok, true);
    assert.deepEqual(verdict.ok && verdict.intermediates.map((c) => c.subject), [intermediate.subject]);
  });
  it('refuses the same leaf without its issuing CA, or with nothing trusted', () => {
    const alone = verifyClientCertificate(tls(leaf), trustSnapshot([root]));
    assert.equal(!alone.ok && alone.reason, 'untrusted_issuer');
    // The log names the missing issuer, so an operator knows which CA certificate to send or trust.
    assert.match(!alone.ok ? (alone.detail ?? '') : '', /issuer O=Acme, CN=Acme Issuing CA of O=Acme, CN=svc: neither presented nor trusted/);
    const none = verifyClientCertificate(tls(leaf, intermediate), trustSnapshot([]));
    assert.equal(!none.ok && none.reason, 'untrusted_issuer');
  });
  it('an intermediate configured as the anchor is enough', () => {
    assert.equal(verifyClientCertificate(tls(leaf), trustSnapshot([intermediate])).ok, true);
  });
  it('matches SAN IP addresses written differently, and DNs in RFC 4514 order', () => {
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
    assert.equal(presented.chain.length, MAX_PRESENTED_CHAIN - 1);
    assert.equal(verifyClientCertificate(presented, trustSnapshot([root])).ok, true);
  });
  it('reads the intermediates of an Envoy XFCC header from its Chain field', () => {
    const value = `By=spiffe://gatehouse;Hash=abc;Cert="${encodeURIComponent(leaf.toString())}";Chain="${encodeURIComponent(leaf.toString() + intermediate.toString())}"`;
    const presented = parseCertificateHeader(value);
    assert.ok(presented);
    assert.equal(verifyClientCertificate(presented, trustSnapshot([root])).ok, true);
  });
});

// The checks of RFC 5280 §6.1 this server applies, each on a chain built to break exactly one.
describe('path validation, one broken rule at a time', () => {
  let root: Made;
  let issuing: Made;

  before(async () => {
    root = await makeRoot('Root', { pathLength: 1 });
    issuing = await make('Issuing', root, { ca: true, pathLength: 0 });
  });

  const reasonOf = (verdict: ReturnType<typeof verifyClientCertificate>) => (verdict.ok ? 'ok' : verdict.reason);

  it('a good leaf through the issuing CA (pathLen 0 under pathLen 1) is accepted', async () => {
    const leaf = await make('svc', issuing, { eku: [CLIENT_AUTH] });
    assert.equal(reasonOf(verifyClientCertificate(tls(leaf, issuing), trusting(root))), 'ok');
    // The order the client sends, and a copy of the root among them, do not matter.
    assert.equal(reasonOf(verifyClientCertificate(tls(leaf, root, issuing), trusting(root))), 'ok');
  });

  it('the leaf outside its validity: expired / not_yet_valid, with the date', async () => {
    const leaf = await make('svc', issuing);
    const expired = verifyClientCertificate(tls(leaf, issuing), trusting(root), leaf.cert.validToDate.getTime() + 1000);
    assert.equal(reasonOf(expired), 'expired');
    assert.equal(!expired.ok && expired.at?.getTime(), leaf.cert.validToDate.getTime());
    assert.equal(reasonOf(verifyClientCertificate(tls(leaf, issuing), trusting(root), leaf.cert.validFromDate.getTime() - 1000)), 'not_yet_valid');
  });

  it('an extended key usage without clientAuth: not_for_client_auth; anyExtendedKeyUsage is fine', async () => {
    const server = await make('web', issuing, { eku: [SERVER_AUTH] });
    assert.equal(reasonOf(verifyClientCertificate(tls(server, issuing), trusting(root))), 'not_for_client_auth');
    const any = await make('any', issuing, { eku: ['2.5.29.37.0'] });
    assert.equal(reasonOf(verifyClientCertificate(tls(any, issuing), trusting(root))), 'ok');
  });

  it('an expired or not yet valid intermediate, or anchor: invalid_chain', async () => {
    const old = await make('Old Issuing', root, { ca: true, fromDays: -30, toDays: -1 });
    const oldLeaf = await make('svc', old, { fromDays: -2, toDays: 10 });
    assert.equal(reasonOf(verifyClientCertificate(tls(oldLeaf, old), trusting(root))), 'invalid_chain');
    const early = await make('Future Issuing', root, { ca: true, fromDays: 1, toDays: 30 });
    assert.equal(reasonOf(verifyClientCertificate(tls(await make('svc', early), early), trusting(root))), 'invalid_chain');
    const oldRoot = await makeRoot('Old Root', { fromDays: -30, toDays: -1 });
    assert.equal(reasonOf(verifyClientCertificate(tls(await make('svc', oldRoot)), trusting(oldRoot))), 'invalid_chain');
  });

  it('an intermediate that is not a CA, or may not sign certificates: invalid_chain', async () => {
    // keyCertSign without cA: a signature path exists, the certificate just may not be on it.
    const notCa = await make('Not A CA', root, { ca: false, keyUsage: KeyUsageFlags.keyCertSign });
    const verdict = verifyClientCertificate(tls(await make('svc', notCa), notCa), trusting(root));
    assert.equal(reasonOf(verdict), 'invalid_chain');
    assert.match(!verdict.ok ? (verdict.detail ?? '') : '', /not_a_ca: CN=Not A CA/);
    const noBasicConstraints = await make('No Constraints', root, { keyUsage: KeyUsageFlags.keyCertSign });
    assert.equal(reasonOf(verifyClientCertificate(tls(await make('svc', noBasicConstraints), noBasicConstraints), trusting(root))), 'invalid_chain');
    // A CA whose key usage leaves out keyCertSign signed the leaf all the same: the client did send
    // its issuer, so the answer is that this CA may not issue certificates, not "send the intermediates".
    const noCertSign = await make('CRL Only', root, { ca: true, keyUsage: KeyUsageFlags.cRLSign });
    const noCertSignVerdict = verifyClientCertificate(tls(await make('svc', noCertSign), noCertSign), trusting(root));
    assert.equal(reasonOf(noCertSignVerdict), 'invalid_chain');
    assert.match(!noCertSignVerdict.ok ? (noCertSignVerdict.detail ?? '') : '', /no_key_cert_sign: CN=CRL Only/);
  });

  it('path lengths: an intermediate under a pathLen 0 CA, or two under a pathLen 1 root, are refused', async () => {
    const sub = await make('Sub Issuing', issuing, { ca: true });
    const leaf = await make('svc', sub);
    const verdict = verifyClientCertificate(tls(leaf, sub, issuing), trusting(root));
    assert.equal(reasonOf(verdict), 'invalid_chain');
    assert.match(!verdict.ok ? (verdict.detail ?? '') : '', /path_length_exceeded/);
    // The same chain is fine when the issuing CA allows it but the pathLen 1 root still counts two.
    const wide = await make('Wide Issuing', root, { ca: true });
    const sub2 = await make('Sub 2', wide, { ca: true });
    assert.equal(reasonOf(verifyClientCertificate(tls(await make('svc', sub2), sub2, wide), trusting(root))), 'invalid_chain');
    assert.equal(reasonOf(verifyClientCertificate(tls(await make('svc', sub2), sub2), trustSnapshot([wide.cert]))), 'ok');
  });

  it(`more than ${MAX_INTERMEDIATES} intermediates: invalid_chain (chain_too_long)`, async () => {
    const top = await makeRoot('Deep Root');
    const cas = [top];
    for (let i = 0; i <= MAX_INTERMEDIATES; i++) cas.push(await make(`Level ${i}`, cas.at(-1), { ca: true }));
    const leaf = await make('deep', cas.at(-1));
    const verdict = verifyClientCertificate(tls(leaf, ...cas.slice(1).reverse()), trusting(top));
    assert.equal(reasonOf(verdict), 'invalid_chain');
    assert.match(!verdict.ok ? (verdict.detail ?? '') : '', /chain_too_long/);
  });

  it('a certificate with the issuing CA\'s name but another key does not count as it (signatures, not names)', async () => {
    const impostor = await make('Issuing', root, { ca: true, pathLength: 0 });
    const forged = await make('svc', { ...issuing, keys: impostor.keys });
    assert.equal(reasonOf(verifyClientCertificate(tls(forged, issuing), trusting(root))), 'untrusted_issuer');
    // The impostor CA itself is signed by the root, so a leaf it signed and presented with it is fine.
    assert.equal(reasonOf(verifyClientCertificate(tls(forged, impostor), trusting(root))), 'ok');
  });

  it('a self-signed certificate is not issued by a trusted CA', async () => {
    const self = await makeRoot('svc');
    const verdict = verifyClientCertificate(tls(self), trusting(root));
    assert.equal(reasonOf(verdict), 'untrusted_issuer');
    assert.match(!verdict.ok ? (verdict.detail ?? '') : '', /self-signed: CN=svc/);
    // No intermediate would help: the client operator is told what would.
    const description = !verdict.ok ? refusalDescription(verdict) : '';
    assert.match(description, /is self-signed/);
    assert.match(description, /self_signed_tls_client_auth/);
    assert.doesNotMatch(description, /send the intermediate/);
    // A whole chain up to a root nobody configured: the log names that root.
    const otherRoot = await makeRoot('Other Root');
    const otherIssuing = await make('Other Issuing', otherRoot, { ca: true });
    const foreign = verifyClientCertificate(tls(await make('svc', otherIssuing), otherIssuing, otherRoot), trusting(root));
    assert.equal(reasonOf(foreign), 'untrusted_issuer');
    assert.match(!foreign.ok ? (foreign.detail ?? '') : '', /^root not trusted: CN=Other Root$/);
    assert.match(!foreign.ok ? refusalDescription(foreign) : '', /send the intermediate/);
  });

  it('a new trust snapshot is judged anew (results are cached per snapshot)', async () => {
    const leaf = await make('svc', issuing);
    const other = await makeRoot('Other');
    assert.equal(reasonOf(verifyClientCertificate(tls(leaf, issuing), trusting(root))), 'ok');
    assert.equal(reasonOf(verifyClientCertificate(tls(leaf, issuing), trusting(other))), 'untrusted_issuer');
    assert.equal(reasonOf(verifyClientCertificate(tls(leaf, issuing), trusting(root), Date.now() + 400 * DAY)), 'expired');
  });
});
