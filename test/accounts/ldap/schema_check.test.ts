import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributeTypeNames, filterAttributes } from '../../../src/accounts/ldap/schema_check.ts';

describe('attribute names for the directory schema check', () => {
  it('finds the attribute of every item of an RFC 4515 filter, extensible matches and escaped values included', () => {
    assert.deepEqual(filterAttributes('(&(objectCategory=person)(objectClass=user))'), ['objectCategory', 'objectClass']);
    assert.deepEqual(filterAttributes('(userAccountControl:1.2.840.113556.1.4.803:=2)'), ['userAccountControl']);
    assert.deepEqual(filterAttributes('(|(cn=a\\28b\\29)(!(loginShell=/sbin/nologin))(uidNumber>=1000)(sn~=smith))'), ['cn', 'loginShell', 'uidNumber', 'sn']);
    assert.deepEqual(filterAttributes('(2.5.4.3=x)'), ['2.5.4.3']);
  });

  it('reads names (one or several) and OIDs from attributeTypes definitions (RFC 4512 §4.1.2)', () => {
    const names = attributeTypeNames([
      "( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s)' SUP name )",
      "( 1.3.6.1.1.16.4 NAME 'entryUUID' DESC 'UUID of the entry' EQUALITY UUIDMatch SYNTAX 1.3.6.1.1.16.1 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )",
    ]);
    assert.deepEqual([...names].sort(), ['1.3.6.1.1.16.4', '2.5.4.3', 'cn', 'commonname', 'entryuuid']);
  });
});
