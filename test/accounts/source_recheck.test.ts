import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { type Account, Accounts } from '../../src/accounts/account.ts';
import { linkIdentity } from '../../src/accounts/federated.ts';
import { AccountRecheck, type AccountSource, type RecheckResult, type RecheckVerdict, SOURCE_STATE, type SourceState } from '../../src/accounts/source_recheck.ts';
import { Audit } from '../../src/shared/audit.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { Sealer } from '../../src/shared/seal.ts';
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

describe('re-check state, refusals, unreachable sources and concurrency (OpenID Connect connectors, any connector)', () => {
  /** A source that keeps state, whose answers the test sets. */
  class ScriptedSource implements AccountSource {
    readonly id = 'corp';
    readonly maxStalenessSeconds = 0;
    answer: RecheckResult = { verdict: 'active' };
    calls: Array<SourceState | undefined> = [];
    async recheck(_account: Account, state?: SourceState): Promise<RecheckResult> {
      this.calls.push(state);
      return this.answer;
    }
  }

  async function setup(onUnreachable: 'deny' | 'allow' = 'deny') {
    const store = new MemoryStore();
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const source = new ScriptedSource();
    const recheck = new AccountRecheck(store, [source], { sealer: new Sealer(['cookie-key-one-0123456789'], 'test'), onUnreachable, stateTtl: 3600, logger, audit: new Audit(logger) });
    return { store, source, recheck, account: await directoryAccount(store), lines };
  }

  it('hands the connector its sealed state back and keeps what it returns; nothing readable in the store', async () => {
    const { recheck, source, account, store } = await setup();
    await recheck.remember(account, 'corp', { token: 'upstream-secret-token' });
    assert.doesNotMatch(JSON.stringify(await store.find(SOURCE_STATE, account.id)), /upstream-secret-token/);
    source.answer = { verdict: 'active', state: { token: 'rotated' } };
    assert.equal(await recheck.onRefresh(account), 'active');
    assert.deepEqual(source.calls[0], { token: 'upstream-secret-token' });
    await recheck.onRefresh(account);
    assert.deepEqual(source.calls[1], { token: 'rotated' });
  });

  it('refused: the account is marked (every token stops) until the source vouches again at a sign-in; an audit line says why', async () => {
    const { recheck, source, account, lines, store } = await setup();
    source.answer = { verdict: 'refused', reason: 'upstream_invalid_grant' };
    assert.equal(await recheck.onRefresh(account), 'refused');
    assert.equal((await new Accounts(store).findById(account.id))?.refusedBySource?.reason, 'upstream_invalid_grant');
    assert.ok(lines.some((l) => l.includes('"event":"account.source_refused"') && l.includes('upstream_invalid_grant')));
  });

  it('unreachable: deny (the default) or allow, as configured; a throwing source counts as unreachable', async () => {
    const deny = await setup();
    deny.source.answer = { verdict: 'unreachable', reason: 'timeout' };
    assert.equal(await deny.recheck.onRefresh(deny.account), 'unreachable');
    assert.ok(deny.lines.some((l) => l.includes('account.recheck_unreachable') && l.includes('"decision":"deny"')));
    const allow = await setup('allow');
    allow.source.recheck = async () => {
      throw new Error('socket hang up');
    };
    assert.equal(await allow.recheck.onRefresh(allow.account), 'active');
  });

  it('concurrent refreshes of one account share a single question (an upstream refresh token rotates)', async () => {
    const { recheck, source, account } = await setup();
    assert.deepEqual(await Promise.all([recheck.onRefresh(account), recheck.onRefresh(account), recheck.onRefresh(account)]), ['active', 'active', 'active']);
    assert.equal(source.calls.length, 1);
  });
});
