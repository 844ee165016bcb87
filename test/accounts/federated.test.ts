import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Accounts } from '../../src/accounts/account.ts';
import { accountClaims } from '../../src/accounts/claims.ts';
import { checkPolicy, federatedSignIn, mapClaims } from '../../src/accounts/federated.ts';
import { SignIn } from '../../src/accounts/sign_in.ts';
import type { ConnectorConfig } from '../../src/config/connectors.ts';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';

const connector = (over: Partial<ConnectorConfig> = {}): ConnectorConfig => ({
  id: 'corp',
  label: 'Corp',
  issuer: 'https://sso.example.com',
  clientId: 'gh',
  clientSecretMethod: 'client_secret_basic',
  scopes: ['openid'],
  claims: { username: 'preferred_username', email: 'email', name: 'name', groups: 'groups', uidNumber: 'uid', gidNumber: 'gid' },
  allowedEmailDomains: [],
  requireVerifiedEmail: true,
  requiredGroups: [],
  recheckSeconds: 300,
  ...over,
});

const ALICE = { sub: 'u-1', preferred_username: 'Alice', email: 'alice@example.com', email_verified: true, name: 'Alice', groups: ['eng'], uid: '1500', gid: 150 };

describe('upstream accounts', () => {
  it('maps claims by the configured names; POSIX ids only as a pair; odd values are dropped', () => {
    assert.deepEqual(mapClaims(connector(), ALICE), { subject: 'u-1', username: 'Alice', email: 'alice@example.com', emailVerified: true, name: 'Alice', groups: ['eng'], uidNumber: 1500, gidNumber: 150 });
    const odd = mapClaims(connector(), { sub: 'u-2', groups: 'single', uid: -1, gid: 5, email_verified: 'false' });
    assert.deepEqual(odd, { subject: 'u-2', username: 'u-2', email: undefined, emailVerified: false, name: undefined, groups: ['single'] });
    assert.equal(mapClaims(connector(), { preferred_username: 'x' }), undefined);
  });

  it('policy: allowed domains need a verified address in exactly that domain; required groups need one match', () => {
    const c = connector({ allowedEmailDomains: ['example.com'], requiredGroups: ['eng', 'ops'] });
    assert.equal(checkPolicy(c, mapClaims(c, ALICE)!), undefined);
    assert.equal(checkPolicy(c, mapClaims(c, { ...ALICE, email: 'alice@evil.example.com' })!), 'domain');
    assert.equal(checkPolicy(c, mapClaims(c, { ...ALICE, email: 'alice@example.com.evil' })!), 'domain');
    assert.equal(checkPolicy(c, mapClaims(c, { ...ALICE, email_verified: false })!), 'domain');
    assert.equal(checkPolicy({ ...c, requireVerifiedEmail: false }, mapClaims(c, { ...ALICE, email_verified: false })!), undefined);
    assert.equal(checkPolicy(c, mapClaims(c, { ...ALICE, groups: ['sales'] })!), 'group');
  });

  it('one account per issuer + subject, even under concurrent first sign-ins; never shared by email', async () => {
    const store = new MemoryStore();
    const results = await Promise.all([1, 2, 3, 4].map(() => federatedSignIn(store, connector(), ALICE)));
    const ids = new Set(results.map((r) => (r.ok ? r.account.id : 'refused')));
    assert.equal(ids.size, 1);
    assert.equal(results.filter((r) => r.ok && r.created).length, 1);
    const accounts = await new Accounts(store).list();
    assert.equal(accounts.length, 1);
    assert.equal(accounts[0]?.username, 'corp:alice');
    // Same email at another issuer: another account.
    const other = await federatedSignIn(store, connector({ id: 'other', issuer: 'https://idp.other.example' }), ALICE);
    assert.ok(other.ok);
    assert.ok(!ids.has(other.account.id));
    // Claims refresh; the handle stays.
    const again = await federatedSignIn(store, connector(), { ...ALICE, groups: ['ops'], name: 'Alice L.' });
    assert.ok(again.ok && ids.has(again.account.id));
    assert.deepEqual(accountClaims(again.account).groups, ['ops']);
    assert.equal(accountClaims(again.account).preferred_username, 'Alice');
    assert.equal(accountClaims(again.account).name, 'Alice L.');
  });

  it('a local username is never taken over, upstream accounts have no password, disabled accounts are refused', async () => {
    const store = new MemoryStore();
    const accounts = new Accounts(store);
    await accounts.create({ username: 'alice', password: 'correct horse battery staple' });
    const r = await federatedSignIn(store, connector(), ALICE);
    assert.ok(r.ok);
    assert.equal(r.account.username, 'corp:alice');
    const signIn = new SignIn(store, { failuresPerAccount: 100, failuresPerIp: 100, windowSeconds: 60 });
    assert.equal((await signIn.password('corp:alice', '', '127.0.0.1')).ok, false);
    await accounts.update(r.account, { disabled: true });
    const refused = await federatedSignIn(store, connector(), ALICE);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.reason, 'disabled');
    await accounts.remove('corp:alice');
    const fresh = await federatedSignIn(store, connector(), ALICE);
    assert.ok(fresh.ok && fresh.created && fresh.account.id !== r.account.id);
  });
});
