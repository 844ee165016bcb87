import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstRdnValue } from '../../../src/accounts/ldap/directory.ts';

describe('memberOf group names (RFC 4514 DNs)', () => {
  it('takes the first RDN value when its type is the name attribute, escapes undone', () => {
    assert.equal(firstRdnValue('CN=Domain Admins,CN=Users,DC=corp,DC=example', 'cn'), 'Domain Admins');
    assert.equal(firstRdnValue('cn=ops\\, night shift,ou=groups,dc=example,dc=com', 'cn'), 'ops, night shift');
    assert.equal(firstRdnValue('cn=caf\\C3\\A9,ou=groups', 'cn'), 'café');
    assert.equal(firstRdnValue('cn=a\\2Bb+gidNumber=5,ou=groups', 'cn'), 'a+b');
    assert.equal(firstRdnValue('ou=groups,dc=example', 'cn'), undefined);
    assert.equal(firstRdnValue('', 'cn'), undefined);
    assert.equal(firstRdnValue('cn=,ou=x', 'cn'), undefined);
  });
});
