import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LdapConnector } from '../../../src/accounts/ldap/ldap_connector.ts';
import { ldapConnectorSchema, type LdapConnectorConfig } from '../../../src/config/ldap_connector.ts';
import { Secret } from '../../../src/shared/secret.ts';
import { MemoryStore } from '../../../src/storage/memory/memory_store.ts';
import { BASE_DN, SERVICE_DN, startDirectory, type TestDirectory } from './slapd.ts';
import { readFileSync } from 'node:fs';

/**
 * Mistakes an operator makes in a directory connector, against a real slapd: the person types the
 * right password, so they must not be told it is wrong (nor have it count against the throttles),
 * and the operator must be told which attribute to fix.
 */
describe('LDAP connector mistakes an operator makes (real slapd)', { timeout: 120_000 }, () => {
  let directory: TestDirectory;
  before(async () => {
    directory = await startDirectory();
  });
  after(async () => {
    await directory?.stop();
  });

  function connector(attributes: Record<string, string>): LdapConnector {
    const parsed = ldapConnectorSchema.parse({
      type: 'ldap',
      id: 'corp',
      label: 'Corp directory',
      url: directory.ldapsUrl,
      bindDn: SERVICE_DN,
      bindPassword: { env: 'UNUSED' },
      userSearch: { baseDn: `ou=people,${BASE_DN}`, filter: '(objectClass=posixAccount)', usernameAttribute: 'uid' },
      attributes,
      timeoutSeconds: 5,
    });
    const config: LdapConnectorConfig = {
      ...parsed,
      bindPassword: new Secret(readFileSync(directory.servicePasswordFile, 'utf8').trim()),
      ca: readFileSync(directory.caFile, 'utf8'),
      caFile: directory.caFile,
    };
    return new LdapConnector(config, new MemoryStore());
  }

  test('a misspelled stable-id attribute ("entryUID"): the right password is not "incorrect"; the refusal names the attribute', async () => {
    const result = await connector({ id: 'entryUID' }).signIn('alice', directory.passwords.alice);
    assert.equal(result.ok, false);
    assert.notEqual(!result.ok && result.reason, 'credentials');
    assert.equal(!result.ok && result.reason, 'claims');
    assert.deepEqual('missing' in result ? result.missing : undefined, ['entryUID']);
    // A wrong password is still just wrong, whatever the mapping.
    const wrong = await connector({ id: 'entryUID' }).signIn('alice', 'not her password');
    assert.equal(!wrong.ok && wrong.reason, 'credentials');
  });

  test('a username attribute the entries lack (attributes.username "login"): refused as incomplete, naming it', async () => {
    const result = await connector({ id: 'entryUUID', username: 'login' }).signIn('alice', directory.passwords.alice);
    assert.equal(!result.ok && result.reason, 'claims');
    assert.deepEqual('missing' in result ? result.missing : undefined, ['login']);
  });

  test('the correct mapping signs in', async () => {
    const result = await connector({ id: 'entryUUID' }).signIn('alice', directory.passwords.alice);
    assert.equal(result.ok, true);
  });
});
