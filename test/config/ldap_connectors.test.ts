import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-ldap-connectors-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const BIND = 'service-bind-password-0123456789';
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
writeFileSync(join(dir, 'ca.pem'), CA);
let n = 0;

function file(connectors: unknown): string {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, JSON.stringify(connectors));
  return path;
}

const base = {
  type: 'ldap',
  id: 'corp-ldap',
  label: 'Corp directory',
  url: 'ldaps://ldap.example.com',
  caFile: 'ca.pem',
  bindDn: 'cn=gatehouse,ou=services,dc=example,dc=com',
  bindPassword: { env: 'LDAP_BIND' },
  userSearch: { baseDn: 'ou=people,dc=example,dc=com' },
};
const load = (env: Record<string, string>) => loadConfig({ env: { LDAP_BIND: BIND, ...env }, envFile: false, cwd: dir });

function problems(connectors: unknown, env: Record<string, string> = {}): string[] {
  try {
    load({ GATEHOUSE_CONNECTORS_FILE: file(connectors), ...env });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a configuration error');
}

describe('LDAP connectors in the connectors file', () => {
  it('loads beside OpenID Connect ones, with defaults; the bind password is read but never printable', () => {
    const oidcEntry = { id: 'sso', label: 'SSO', issuer: 'https://sso.example.com', clientId: 'gh', clientSecret: { env: 'LDAP_BIND' } };
    const config = load({ GATEHOUSE_CONNECTORS_FILE: file([oidcEntry, base]) });
    assert.equal(config.connectors.length, 1);
    const [c] = config.ldapConnectors;
    assert.deepEqual(c?.url, ['ldaps://ldap.example.com']);
    assert.deepEqual(c?.userSearch, { baseDn: 'ou=people,dc=example,dc=com', filter: '(objectClass=person)', usernameAttribute: 'uid', scope: 'sub' });
    assert.deepEqual(c?.attributes, { id: 'entryUUID', email: 'mail', name: 'cn' });
    assert.equal(c?.recheckSeconds, 300);
    assert.equal(c?.ca, CA);
    assert.equal(c?.bindPassword?.reveal(), BIND);
    assert.ok(!JSON.stringify(config).includes(BIND));
    assert.ok(!inspect(config, { depth: 10 }).includes(BIND));
  });

  it('refuses an inline password, plain ldap:// without StartTLS, and half a service account', () => {
    assert.ok(problems([{ ...base, bindPassword: BIND }]).some((p) => p.includes('0.bindPassword')));
    assert.ok(problems([{ ...base, bindPassword: { value: BIND } }]).some((p) => p.includes('0.bindPassword')));
    assert.ok(problems([{ ...base, url: 'ldap://ldap.example.com' }]).some((p) => p.includes('startTls')));
    assert.ok(problems([{ ...base, bindPassword: undefined }]).some((p) => p.includes('"bindDn" and "bindPassword" together')));
    assert.ok(problems([{ ...base, url: 'https://ldap.example.com' }]).some((p) => p.includes('0.url')));
    assert.ok(problems([{ ...base, userSearch: { baseDn: 'dc=x', filter: 'uid=*' } }]).some((p) => p.includes('0.userSearch.filter')));
    assert.ok(problems([{ ...base, disabledFilter: '(&(a=b)' }]).some((p) => p.includes('0.disabledFilter')));
    assert.ok(problems([{ ...base, groupSearch: { style: 'member' } }]).some((p) => p.includes('baseDn is needed')));
    assert.ok(problems([{ ...base, caFile: 'missing.pem' }]).some((p) => p.includes('0.caFile: cannot read')));
    assert.ok(problems([base, { ...base, label: 'again' }]).some((p) => p.includes('"corp-ldap" is used twice')));
    assert.ok(problems([base], { LDAP_BIND: '' }).some((p) => p.includes('LDAP_BIND is not set')));
  });

  it('plain-text LDAP only when explicitly allowed, and then only in development', () => {
    const insecure = { ...base, url: 'ldap://127.0.0.1:3890', allowInsecure: true };
    const config = load({ GATEHOUSE_CONNECTORS_FILE: file([insecure]) });
    assert.ok(config.warnings.some((w) => w.includes('plain-text ldap://')));
    const prod = problems([insecure], { GATEHOUSE_MODE: 'production', GATEHOUSE_ISSUER: 'https://id.example.com' });
    assert.ok(prod.some((p) => p.includes('plain-text ldap://') && p.includes('production')));
  });

  it('with local accounts off, a broken connectors file is the one problem named (not also "needs at least one connector")', () => {
    const found = problems([{ ...base, caFile: 'missing.pem' }], { GATEHOUSE_LOCAL_ACCOUNTS: 'false' });
    assert.deepEqual(found.filter((p) => !p.startsWith('GATEHOUSE_CONNECTORS_FILE:')), []);
    assert.ok(found.some((p) => p.includes('0.caFile: cannot read')));
  });

  it('one LDAP connector is enough to turn local accounts off', () => {
    const config = load({ GATEHOUSE_CONNECTORS_FILE: file([base]), GATEHOUSE_LOCAL_ACCOUNTS: 'false' });
    assert.equal(config.localAccounts, false);
  });

  it('the README examples (OpenLDAP and Active Directory) are accepted, only their file paths swapped for test ones', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Company directory (LDAP / Active Directory)'));
    const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].slice(0, 2).map((m) => JSON.parse(m[1]!) as Array<Record<string, unknown>>);
    assert.equal(blocks.length, 2);
    writeFileSync(join(dir, 'bind.txt'), BIND);
    const entries = blocks.flat().map((e) => ({ ...e, caFile: 'ca.pem', ...((e.bindPassword as { file?: string }).file ? { bindPassword: { file: 'bind.txt' } } : {}) }));
    const config = load({ GATEHOUSE_CONNECTORS_FILE: file(entries), AD_BIND_PASSWORD: BIND });
    assert.deepEqual(config.ldapConnectors.map((c) => c.id), ['corp-ldap', 'ad']);
    assert.equal(config.ldapConnectors[1]?.userSearch.usernameAttribute, 'sAMAccountName');
    assert.equal(config.ldapConnectors[1]?.bindPassword?.reveal(), BIND);
  });
});
