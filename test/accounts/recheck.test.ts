import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { type Account, Accounts } from '../../src/accounts/account.ts';
import { AccountRecheck, type RecheckResult, type RecheckSource, SOURCE_STATE, type SourceState } from '../../src/accounts/recheck.ts';
import { Audit } from '../../src/shared/audit.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { Sealer } from '../../src/shared/seal.ts';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';

/** A source whose answers the test sets, remembering what state it was handed. */
class ScriptedSource implements RecheckSource {
  readonly id = 'dir';
  answer: RecheckResult = { outcome: 'active' };
  calls: Array<SourceState | undefined> = [];
  async recheck(_account: Account, state: SourceState | undefined): Promise<RecheckResult> {
    this.calls.push(state);
    return this.answer;
  }
}

async function setup(options: { interval?: number; onUnreachable?: 'deny' | 'allow' } = {}) {
  const store = new MemoryStore();
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const source = new ScriptedSource();
  const recheck = new AccountRecheck({ store, sealer: new Sealer(['cookie-key-one-0123456789'], 'test'), sources: [source], interval: options.interval ?? 0, onUnreachable: options.onUnreachable ?? 'deny', stateTtl: 3600, logger, audit: new Audit(logger) });
  const accounts = new Accounts(store);
  const local = await accounts.create({ username: 'carol', password: 'long enough password' });
  const federated = await accounts.update(local, { upstream: { connector: 'dir', issuer: 'ldap://dir', subject: 'uid=carol', username: 'carol' } });
  await store.upsert('RefreshToken', 'rt1', { grantId: 'g1' });
  return { store, source, recheck, accounts, local, federated, lines };
}

describe('re-checking connector accounts at refresh (accounts/recheck.ts)', () => {
  it('local accounts are never re-checked; a fresh check is reused within the interval', async () => {
    const { recheck, source, local, federated } = await setup({ interval: 300 });
    assert.equal(await recheck.onRefresh({ ...local, upstream: undefined }, 'g1'), 'allow');
    await recheck.remember(federated, 'dir', { dn: 'uid=carol' });
    assert.equal(await recheck.onRefresh(federated, 'g1'), 'allow');
    assert.equal(source.calls.length, 0, 'the sign-in itself counts as a check');
  });

  it('hands the connector its sealed state back, and keeps what it returns', async () => {
    const { recheck, source, federated, store } = await setup();
    await recheck.remember(federated, 'dir', { token: 'upstream-secret-token' });
    assert.doesNotMatch(JSON.stringify(await store.find(SOURCE_STATE, federated.id)), /upstream-secret-token/);
    source.answer = { outcome: 'active', state: { token: 'rotated' } };
    assert.equal(await recheck.onRefresh(federated, 'g1'), 'allow');
    assert.deepEqual(source.calls[0], { token: 'upstream-secret-token' });
    await recheck.onRefresh(federated, 'g1');
    assert.deepEqual(source.calls[1], { token: 'rotated' });
  });

  it('refused: the grant is revoked and the account marked until the next sign-in', async () => {
    const { recheck, source, federated, store, accounts } = await setup();
    source.answer = { outcome: 'refused', reason: 'ldap_disabled' };
    assert.equal(await recheck.onRefresh(federated, 'g1'), 'refused');
    assert.equal(await store.find('RefreshToken', 'rt1'), undefined);
    assert.equal((await accounts.findById(federated.id))?.refusedBySource?.reason, 'ldap_disabled');
  });

  it('unreachable: deny (the default) or allow, as configured; a throwing source counts as unreachable', async () => {
    const deny = await setup();
    deny.source.answer = { outcome: 'unreachable', reason: 'timeout' };
    assert.equal(await deny.recheck.onRefresh(deny.federated, 'g1'), 'unavailable');
    assert.ok(await deny.store.find('RefreshToken', 'rt1'), 'the grant stays');
    assert.ok(deny.lines.some((l) => l.includes('upstream.recheck_unreachable')));
    const allow = await setup({ onUnreachable: 'allow' });
    allow.source.recheck = async () => {
      throw new Error('socket hang up');
    };
    assert.equal(await allow.recheck.onRefresh(allow.federated, 'g1'), 'allow');
  });

  it('concurrent refreshes of one account share a single check', async () => {
    const { recheck, source, federated } = await setup();
    const verdicts = await Promise.all([recheck.onRefresh(federated, 'g1'), recheck.onRefresh(federated, 'g1'), recheck.onRefresh(federated, 'g1')]);
    assert.deepEqual(verdicts, ['allow', 'allow', 'allow']);
    assert.equal(source.calls.length, 1);
  });
});
