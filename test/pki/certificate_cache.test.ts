import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certificateNames, verifyClientCertificate } from '../../src/pki/client_certificate.ts';
import { devPki, opensslCa } from '../helpers/pki.ts';

// A client opening a new TLS connection per request presents a new certificate object each time:
// names and signature paths are kept per fingerprint, and a different trust set is still judged anew.
let dir: string;
let leafPem: string;
let rootCa: X509Certificate;
let otherCa: X509Certificate;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-cert-cache-'));
  const pki = await devPki(join(dir, 'certs'));
  const pair = await pki.issue(dir, 'cached', { dns: ['cached.example'] });
  leafPem = readFileSync(pair.cert, 'utf8');
  rootCa = new X509Certificate(readFileSync(pki.rootCa));
  otherCa = new X509Certificate(readFileSync((await opensslCa(dir, 'other', '/CN=Other CA')).cert));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('certificate results per fingerprint', () => {
  it('two objects of the same certificate share one parse', () => {
    const a = certificateNames(new X509Certificate(leafPem));
    const b = certificateNames(new X509Certificate(leafPem));
    assert.equal(a, b);
    assert.deepEqual(a.dns, ['cached.example']);
  });

  it('a new object of a verified certificate is still judged against the current anchors', () => {
    const presented = () => ({ leaf: new X509Certificate(leafPem), chain: [], source: 'tls' as const });
    const trusted = [rootCa];
    assert.equal(verifyClientCertificate(presented(), trusted).ok, true);
    assert.equal(verifyClientCertificate(presented(), trusted).ok, true);
    assert.deepEqual(verifyClientCertificate(presented(), [otherCa]), { ok: false, reason: 'untrusted_issuer' });
    const expired = verifyClientCertificate(presented(), trusted, Date.now() + 400 * 86_400_000);
    assert.deepEqual(expired, { ok: false, reason: 'expired' });
  });
});
