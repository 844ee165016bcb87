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
    corp.answer = 'unreachable';
    assert.equal(await recheck.onRefresh(stored), 'unreachable');
    assert.equal((await new Accounts(store).findById(account.id))!.checkedAt, stored.checkedAt, 'no yes, no new check time');
    corp.answer = 'refused';
    assert.equal(await recheck.onRefresh(stored), 'refused');
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

describe('re-check across replicas on one store (a lease in the store, the holder\'s verdict for the others)', () => {
  /**
   * An upstream that rotates its refresh token at every use and takes a rotated-out one for theft
   * (refusing it, and everything after); each question waits for the test to `answer()`.
   */
  class RotatingSource implements AccountSource {
    readonly id = 'corp';
    readonly maxStalenessSeconds = 0;
    current = 'rt-0';
    revoked = false;
    disabled = false;
    calls: Array<string | undefined> = [];
    #gates: Array<() => void> = [];
    answer(): void {
      for (const open of this.#gates.splice(0)) open();
    }
    get waiting(): number {
      return this.#gates.length;
    }
    async recheck(_account: Account, state?: SourceState): Promise<RecheckResult> {
      this.calls.push(state?.token as string | undefined);
      await new Promise<void>((resolve) => this.#gates.push(resolve));
      if (this.revoked || state?.token !== this.current) {
        this.revoked = true;
        return { verdict: 'refused', reason: 'upstream_invalid_grant' };
      }
      if (this.disabled) return { verdict: 'refused', reason: 'upstream_invalid_grant' };
      this.current = `rt-${this.calls.length}`;
      return { verdict: 'active', state: { token: this.current } };
    }
  }

  interface Replica {
    lines: string[];
    recheck: AccountRecheck;
  }

  async function replicas(options: { waitMs?: number } = {}) {
    const store = new MemoryStore();
    const source = new RotatingSource();
    const sealer = new Sealer(['cookie-key-one-0123456789'], 'test');
    // A clock that moves a second at every reading, so each verdict is later than the last.
    let t = Math.floor(Date.now() / 1000);
    const now = () => ++t;
    const make = (): Replica => {
      const lines: string[] = [];
      const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
      return { lines, recheck: new AccountRecheck(store, [source], { sealer, stateTtl: 3600, logger, audit: new Audit(logger), pollMs: 5, now, ...options }) };
    };
    const account = await directoryAccount(store);
    const [a, b] = [make(), make()];
    await a.recheck.remember(account, 'corp', { token: 'rt-0' });
    return { store, source, account, a, b };
  }

  /** Until `done()`; a deadline only against a hang, never an assertion on time. */
  async function until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error('condition never met');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** A asks the source; once B waits for A's verdict, the source answers. Both verdicts. */
  async function atOnce(source: RotatingSource, account: Account, a: Replica, b: Replica): Promise<RecheckVerdict[]> {
    const first = a.recheck.onRefresh(account);
    await until(() => source.waiting === 1);
    const second = b.recheck.onRefresh(account);
    await until(() => b.lines.some((l) => l.includes('"event":"account.recheck_wait"')));
    source.answer();
    return Promise.all([first, second]);
  }

  it('two replicas refreshing one person at once: one question with the stored token, both active, the rotated token kept', async () => {
    const { source, account, a, b, store } = await replicas();
    assert.deepEqual(await atOnce(source, account, a, b), ['active', 'active']);
    assert.deepEqual(source.calls, ['rt-0']);
    // A refresh that read the account before that verdict takes it without asking again…
    assert.equal(await b.recheck.onRefresh(account), 'active');
    assert.equal(source.calls.length, 1);
    // …a later one asks, with the rotated token.
    const next = b.recheck.onRefresh((await new Accounts(store).findById(account.id))!);
    await until(() => source.waiting === 1);
    source.answer();
    assert.equal(await next, 'active');
    assert.deepEqual(source.calls, ['rt-0', 'rt-1'], 'the other replica asks with the rotated token');
  });

  it('a person disabled at the source: both concurrent refreshes refused', async () => {
    const { source, account, a, b, store } = await replicas();
    source.disabled = true;
    assert.deepEqual(await atOnce(source, account, a, b), ['refused', 'refused']);
    assert.equal(source.calls.length, 1);
    assert.ok((await new Accounts(store).findById(account.id))?.refusedBySource);
  });

  it('a waiter whose bound runs out answers unreachable (a retryable 503), not a refusal', async () => {
    const { source, account, a, b } = await replicas({ waitMs: 0 });
    const first = a.recheck.onRefresh(account);
    await until(() => source.waiting === 1);
    assert.equal(await b.recheck.onRefresh(account), 'unreachable');
    assert.ok(b.lines.some((l) => l.includes('recheck_wait_timeout')));
    source.answer();
    assert.equal(await first, 'active');
  });

  it('a refusal after the stored state changed under the question (a lease ran out meanwhile) is asked again with the new state', async () => {
    const { source, account, a, b } = await replicas();
    const first = a.recheck.onRefresh(account);
    await until(() => source.waiting === 1);
    // Another replica rotated the token meanwhile (its view: the lease had expired).
    source.current = 'rt-9';
    await b.recheck.remember(account, 'corp', { token: 'rt-9' });
    source.answer();
    await until(() => source.waiting === 1);
    source.revoked = false; // this upstream forgives the stale use; a refusal must not be final on its own
    source.answer();
    assert.equal(await first, 'active');
    assert.deepEqual(source.calls, ['rt-0', 'rt-9']);
    assert.ok(a.lines.some((l) => l.includes('"event":"account.recheck_retry"')));
  });
});
