import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDnString, sameDn } from '../../src/pki/distinguished_name.ts';
import { normaliseIp } from '../../src/pki/subject_match.ts';

const same = (a: string, b: string) => {
  const x = parseDnString(a);
  const y = parseDnString(b);
  return !!x && !!y && sameDn(x, y);
};

describe('RFC 4514 distinguished names', () => {
  it('compares after normalising spacing, attribute-type case, value case and OID spelling', () => {
    assert.ok(same('CN=payments-svc,OU=Payments,O=Acme Corp', 'cn = Payments-Svc , ou=payments,  o=Acme  Corp'));
    assert.ok(same('CN=svc', '2.5.4.3=svc'));
    assert.ok(same('CN=svc', 'OID.2.5.4.3=svc'));
    assert.ok(same('emailAddress=a@b.example,CN=x', 'E=a@b.example,CN=x'));
  });
  it('handles escapes, quoted values and hex-escaped UTF-8', () => {
    assert.ok(same('O=Acme\\, Inc,CN=x', 'O="Acme, Inc",CN=x'));
    assert.ok(same('CN=J\\C3\\BCrgen', 'CN=Jürgen'));
    assert.ok(same('CN=a\\+b', 'CN="a+b"'));
  });
  it('treats a multi-valued RDN as a set, but RDN order as significant', () => {
    assert.ok(same('CN=a+UID=b,DC=example', 'UID=b+CN=a,DC=example'));
    assert.ok(!same('CN=a,O=b', 'O=b,CN=a'));
    assert.ok(!same('CN=a,O=b', 'CN=a'));
  });
  it('refuses what is not a DN', () => {
    for (const bad of ['', 'garbage', 'CN=a,', 'XYZ=a', 'CN=a\\', 'CN="unterminated', 'CN=a,,O=b', `CN=${'x'.repeat(5000)}`]) {
      assert.equal(parseDnString(bad), undefined, bad);
    }
  });
});

describe('IP normalisation', () => {
  it('compresses IPv6 and refuses non-addresses', () => {
    assert.equal(normaliseIp('2001:0DB8:0:0:0:0:0:0010'), '2001:db8::10');
    assert.equal(normaliseIp('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(normaliseIp('10.1.2.3'), '10.1.2.3');
    assert.equal(normaliseIp('127.1'), undefined);
    assert.equal(normaliseIp('example.com'), undefined);
  });
});
