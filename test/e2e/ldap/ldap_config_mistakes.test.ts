import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { LdapConnector } from '../../../src/accounts/ldap/ldap_connector.ts';
import { ldapConnectorSchema, type LdapConnectorConfig } from '../../../src/config/ldap_connector.ts';
import { Secret } from '../../../src/shared/secret.ts';
import { MemoryStore } from '../../../src/storage/memory/memory_store.ts';
import { checkDirectorySchema } from '../../../src/accounts/ldap/schema_check.ts';
import { createLogger } from '../../../src/shared/logger.ts';
import { BASE_DN, SERVICE_DN, startDirectory, type TestDirectory } from './slapd.ts';

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

  function connector(attributes: Record<string, string>, more: Record<string, unknown> = {}): LdapConnector {
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
      ...more,
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

  /** A logger whose warnings are collected, as JSON objects. */
  function capture(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    return { logger, lines };
  }

  const README_MAPPING = { id: 'entryUUID', email: 'mail', name: 'cn', uidNumber: 'uidNumber', gidNumber: 'gidNumber' };
  const README_REST = {
    groupSearch: { style: 'memberUid', baseDn: `ou=groups,${BASE_DN}`, filter: '(objectClass=posixGroup)' },
    disabledFilter: '(pwdAccountLockedTime=*)',
  };

  test('at start, attribute names the directory schema lacks are logged, naming the setting (a misspelled disabledFilter matches nobody otherwise)', async () => {
    const { logger, lines } = capture();
    const typos = connector({ ...README_MAPPING, email: 'mial' }, { ...README_REST, disabledFilter: '(pwdAccountLockTime=*)', userSearch: { baseDn: `ou=people,${BASE_DN}`, filter: '(objectClass=posixAccount)', usernameAttribute: 'uidd' } });
    const found = await checkDirectorySchema(typos.directory, logger);
    assert.deepEqual(found, ['uidd (userSearch.usernameAttribute)', 'pwdAccountLockTime (disabledFilter)', 'mial (attributes.email)']);
    const warning = lines.find((l) => l.event === 'ldap.unknown_attributes');
    assert.ok(warning, JSON.stringify(lines));
    assert.match(String(warning.msg), /pwdAccountLockTime \(disabledFilter\)/);
    // And indeed: with that filter, the right password is "incorrect" — which is why the warning matters.
    assert.equal(await typos.signIn('alice', directory.passwords.alice).then((r) => !r.ok && r.reason), 'credentials');
  });

  test('the README OpenLDAP example (ppolicy loaded, as here) passes the schema check silently', async () => {
    const { logger, lines } = capture();
    assert.deepEqual(await checkDirectorySchema(connector(README_MAPPING, README_REST).directory, logger), []);
    assert.deepEqual(lines.filter((l) => l.level === 'warn'), []);
  });

  test('a directory that is down: the schema check logs no warning (sign-ins report outages)', async () => {
    const { logger, lines } = capture();
    const down = connector(README_MAPPING, { url: 'ldaps://127.0.0.1:1' });
    assert.deepEqual(await checkDirectorySchema(down.directory, logger), []);
    assert.deepEqual(lines.filter((l) => l.level === 'warn'), []);
  });
});
