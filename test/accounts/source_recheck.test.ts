import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Account, Accounts } from '../../src/accounts/account.ts';
import { linkIdentity } from '../../src/accounts/federated.ts';
import { AccountRecheck, type AccountSource, type RecheckVerdict } from '../../src/accounts/source_recheck.ts';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';

/** A source that answers what it is told and counts the questions. */
function source(id: string, maxStalenessSeconds: number, answer: RecheckVerdict) {
  const s = { id, maxStalenessSeconds, answer, asked: 0, async recheck(_a: Account) { s.asked++; return s.answer; } };
  return s satisfies AccountSource;
}

async function directoryAccount(store: MemoryStore): Promise<Account> {
  const r = await linkIdentity(store, { connector: 'corp', issuer: 'ldap:corp' }, { subject: 'uuid-1', username: 'alice', emailVerified: false, groups: [] });
  assert.ok(r.ok);
  return r.account;
}

describe('refresh re-check of accounts with their source', () => {
  it('asks the source only when the last answer is older than its staleness bound, and remembers a yes', async () => {
    const store = new MemoryStore();
    const account = await directoryAccount(store);
    let now = account.checkedAt!;
    const corp = source('corp', 300, 'active');
    const recheck = new AccountRecheck(store, [corp], () => now);
    assert.equal(await recheck.onRefresh(account), 'active');
    assert.equal(corp.asked, 0, 'just signed in: within 300 s');
    now += 300;
    assert.equal(await recheck.onRefresh(account), 'active');
    assert.equal(corp.asked, 1);
    const stored = (await new Accounts(store).findById(account.id))!;
    assert.equal(stored.checkedAt, now);
    assert.equal(await recheck.onRefresh(stored), 'active');
    assert.equal(corp.asked, 1, 'the yes is remembered');
    now += 301;
    corp.answer = 'refused';
    assert.equal(await recheck.onRefresh(stored), 'refused');
    corp.answer = 'unreachable';
    assert.equal(await recheck.onRefresh(stored), 'unreachable');
    assert.equal((await new Accounts(store).findById(account.id))!.checkedAt, stored.checkedAt, 'no yes, no new check time');
  });

  it('local accounts and accounts of sources without a re-check are active here', async () => {
    const store = new MemoryStore();
    const local = await new Accounts(store).create({ username: 'bob', password: 'long enough password' });
    const other = source('other', 0, 'refused');
    const recheck = new AccountRecheck(store, [other]);
    assert.equal(await recheck.onRefresh(local), 'active');
    assert.equal(await recheck.onRefresh(await directoryAccount(store)), 'active');
    assert.equal(other.asked, 0);
    assert.equal(new AccountRecheck(store, []).empty, true);
  });
});
