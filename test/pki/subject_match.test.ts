import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { certificateNames, subjectMatches } from '../../src/pki/subject_match.ts';
import { make, root } from './chain_factory.ts';

describe('certificate names', () => {
  it('two objects of the same certificate share one parse (a client reconnecting per request)', async () => {
    const ca = await root('Names Root');
    const leaf = await make('cached', ca, { san: [{ type: 'dns', value: 'Cached.Example' }, { type: 'email', value: 'Svc@Example.COM' }] });
    const a = certificateNames(new X509Certificate(leaf.cert.raw));
    const b = certificateNames(new X509Certificate(leaf.cert.raw));
    assert.equal(a, b);
    assert.deepEqual(a.dns, ['cached.example']);
    assert.ok(subjectMatches(leaf.cert, 'tls_client_auth_san_email', 'Svc@example.com'));
    assert.ok(!subjectMatches(leaf.cert, 'tls_client_auth_san_email', 'svc@example.com'), 'the local part is exact');
  });
});
