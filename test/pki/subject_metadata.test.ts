import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tlsSubjectMetadataProblem, tlsSubjectProblem } from '../../src/pki/subject_metadata.ts';

// Registered tls_client_auth_* values that can never match a certificate are refused up front,
// naming the field (RFC 8705 §2.1.2 with the name forms of RFC 5280 §4.2.1.6 and RFC 4514).
const CASES: Record<string, { good: string[]; bad: string[] }> = {
  tls_client_auth_san_email: {
    good: ['billing@example.com', 'first.last+tag@sub.example.co', '"odd local"@example.com', 'o\'brien@example.ie'],
    bad: ['curl', '@example.com', 'billing@', 'billing@@example.com', 'a b@example.com', 'Billing <billing@example.com>', 'billing@example.com.', 'billing@10.1.2.3', '.dot@example.com', 'x@-bad-.example', `${'a'.repeat(65)}@example.com`, 'müller@example.com'],
  },
  tls_client_auth_san_dns: {
    good: ['billing.internal.example', 'Billing.Internal.Example.', 'localhost', '*.svc.example', 'x1'],
    bad: ['', 'billing..example', '-bad.example', 'bad-.example', 'under_score.example', 'has space.example', '10.1.2.3', '*', 'a.*.example', `${'a'.repeat(64)}.example`, 'https://billing.example'],
  },
  tls_client_auth_san_ip: {
    good: ['10.1.2.3', '2001:db8::1', '2001:0db8:0:0:0:0:0:0010', '::ffff:10.1.2.3'],
    bad: ['999.1.1.1', '10.1.2', 'fe80::1%eth0', '[2001:db8::1]', 'localhost', '10.1.2.3/32'],
  },
  tls_client_auth_san_uri: {
    good: ['spiffe://example.org/ns/prod/sa/billing', 'https://billing.example/svc', 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66'],
    bad: ['billing', '//billing.example/x', '/relative/path', 'spiffe://example.org/with space', 'https://ex\u00e4mple.org/'],
  },
  tls_client_auth_subject_dn: {
    good: ['CN=billing', 'CN=payments-svc,OU=Payments,O=Acme Corp', 'cn = SVC-DN', 'CN=Acme\\, Inc,O=Acme'],
    bad: ['billing', 'XX=billing', 'CN=a,,O=b', ''],
  },
};

describe('tls_client_auth_* values at registration', () => {
  for (const [field, { good, bad }] of Object.entries(CASES)) {
    it(`${field}: well-formed values pass, others are refused naming the field`, () => {
      for (const value of good) assert.equal(tlsSubjectProblem(field, value), undefined, `${field} ${JSON.stringify(value)}`);
      for (const value of bad) assert.match(tlsSubjectProblem(field, value) ?? 'accepted', new RegExp(`^${field} must be `), `${field} ${JSON.stringify(value)}`);
    });
  }

  it('checks whole metadata documents: the seed\'s "curl" email is refused, other fields are left alone', () => {
    assert.equal(tlsSubjectMetadataProblem({ tls_client_auth_san_email: 'curl' }), 'tls_client_auth_san_email must be an email address (local-part@domain) such as billing@example.com');
    assert.equal(tlsSubjectMetadataProblem({ tls_client_auth_san_email: 'curl@example.com', client_name: 'curl' }), undefined);
    assert.equal(tlsSubjectMetadataProblem({ tls_client_auth_san_email: 42 }), undefined, 'types are checked elsewhere');
    assert.equal(tlsSubjectProblem('constructor', 'x'), undefined);
  });
});
