import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Audit } from '../shared/audit.ts';
import type { Logger } from '../shared/logger.ts';
import type { Sealer } from '../shared/seal.ts';
import type { Store } from '../storage/adapter.ts';
import { type Account, Accounts } from './account.ts';

/**
 * What an account's source says when asked again on a refresh (RFC 6749 §6):
 * - `active`: the person may still use it (their claims may have been refreshed);
 * - `refused`: disabled or deleted at the source, or now outside the connector's policy — the
 *   refresh fails with `invalid_grant`, the grant is revoked, and every token of the account stops
 *   until the person signs in through the connector again;
 * - `unreachable`: the source did not answer — by default (GATEHOUSE_UPSTREAM_RECHECK_UNREACHABLE=deny)
 *   the refresh fails closed with 503 `temporarily_unavailable`, so the client keeps its refresh
 *   token and retries later; with `allow` it goes through.
 */
export type RecheckVerdict = 'active' | 'refused' | 'unreachable';

/**
 * What a connector keeps between checks (an upstream refresh token…). Stored sealed (AES-256-GCM
 * under a key derived from the cookie keys), never logged.
 */
export type SourceState = Record<string, string | number | boolean | undefined>;

/** A verdict with what to keep for the next check and why, for logs and the audit trail. */
export interface RecheckResult {
  verdict: RecheckVerdict;
  /** Replaces the stored state (e.g. a rotated upstream refresh token); omitted keeps it. */
  state?: SourceState;
  /** Short machine-readable why, e.g. `upstream_invalid_grant`, `upstream_group`. */
  reason?: string;
}

/**
 * A connector that can vouch again for the accounts it created: the per-connector method of the
 * refresh re-check (offboarding). The LDAP connector and the OpenID Connect connector
 * (`UpstreamClient`) implement it; `AccountRecheck` is the one place that calls it.
 *
 * `recheck(account, state)` asks the source whether the person behind `account`
 * (`account.upstream` names connector, issuer and subject) may still get tokens, and answers a
 * `RecheckVerdict` or a `RecheckResult`. `state` is what the connector handed to
 * `AccountRecheck.remember` at sign-in or returned in its last `RecheckResult.state` (undefined if
 * nothing was kept). Trouble reaching the source is `unreachable`, not a throw (a throw counts as
 * `unreachable` too). It should answer within about 10 s: a token request waits for it.
 */
export interface AccountSource {
  /** The connector id, as in `Account.upstream.connector`. */
  readonly id: string;
  /** How old (seconds) the last check may be before a refresh asks the source again; 0 asks every time. */
  readonly maxStalenessSeconds: number;
  /** Asks the source about this account; may update the stored claims when `active`. */
  recheck(account: Account, state?: SourceState): Promise<RecheckVerdict | RecheckResult>;
}

export interface AccountRecheckOptions {
  /** Seals connector state; required to `remember` any. */
  sealer?: Sealer;
  /** GATEHOUSE_UPSTREAM_RECHECK_UNREACHABLE: `deny` (default) answers `unreachable`, `allow` answers `active`. */
  onUnreachable?: 'deny' | 'allow';
  /** How long kept state lives without a new check (the refresh-token lifetime), seconds. */
  stateTtl?: number;
  logger?: Logger;
  audit?: Audit;
  now?: () => number;
  /** How long one replica's lease on an account's re-check lives if it never releases it (a crash), seconds; default 30. */
  leaseSeconds?: number;
  /** How long a refresh waits for another replica's re-check of the same account, ms; default 15 000. Then `unreachable`. */
  waitMs?: number;
  /** How often a waiting refresh looks at the store, ms; default 100. */
  pollMs?: number;
}

/** Per account from a connector that keeps state: connector id and the sealed state. */
export const SOURCE_STATE = 'SourceState';

/**
 * Per account while one replica asks its source: `{ owner }`, inserted with a TTL (the store's
 * conditional `insert`), so replicas on one store ask one at a time and never present the same
 * upstream refresh token twice (a rotating upstream would take the reuse for theft and revoke).
 */
export const RECHECK_LEASE = 'RecheckLease';

/** The lease holder's verdict, `{ owner, verdict }`, kept for `leaseSeconds` for the replicas that waited on it. */
export const RECHECK_VERDICT = 'RecheckVerdict';

const isVerdict = (v: unknown): v is RecheckVerdict => v === 'active' || v === 'refused' || v === 'unreachable';

/**
 * The refresh-time re-check: for an account from a source that can be asked again, asks it when
 * the last answer (or sign-in: `Account.checkedAt`) is older than the source's staleness bound,
 * and remembers when it said yes. Concurrent refreshes of one account share one question (an
 * upstream refresh token rotates): within a process one promise, across replicas a lease in the
 * store (`RECHECK_LEASE`) — the others poll the store until the holder's verdict lands
 * (`RECHECK_VERDICT` of the lease they waited on), at most `waitMs`, then answer `unreachable`
 * (a retryable 503 by default). A refusal after the stored state changed under the question (a
 * replica whose lease expired rotated the token meanwhile) is asked once more with the new state. Accounts without such a source (local ones, connectors without
 * `recheck`) are `active` here; their `disabled` flag is checked by `findAccount` as before.
 */
export class AccountRecheck {
  #store: Store;
  #sources: Map<string, AccountSource>;
  #accounts: Accounts;
  #o: AccountRecheckOptions;
  #now: () => number;
  #inFlight = new Map<string, Promise<RecheckVerdict>>();

  constructor(store: Store, sources: AccountSource[], options: AccountRecheckOptions | (() => number) = {}) {
    this.#store = store;
    this.#sources = new Map(sources.map((s) => [s.id, s]));
    this.#accounts = new Accounts(store);
    this.#o = typeof options === 'function' ? { now: options } : options;
    this.#now = this.#o.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Whether any source takes part (so `findAccount` can skip the work otherwise). */
  get empty(): boolean {
    return this.#sources.size === 0;
  }

  /** Keeps what a connector needs for later checks, right after a sign-in through it. */
  async remember(account: Account, connector: string, state: SourceState): Promise<void> {
    if (!this.#o.sealer) throw new Error('AccountRecheck: no sealer to keep connector state with');
    await this.#store.upsert(SOURCE_STATE, account.id, { connector, sealed: this.#o.sealer.seal(JSON.stringify(state)) }, this.#o.stateTtl);
  }

  async onRefresh(account: Account): Promise<RecheckVerdict> {
    const source = account.upstream ? this.#sources.get(account.upstream.connector) : undefined;
    if (!source || !account.upstream) return 'active';
    if (this.#now() - (account.checkedAt ?? 0) < source.maxStalenessSeconds) return 'active';
    let pending = this.#inFlight.get(account.id);
    if (!pending) {
      pending = this.#leased(source, account).finally(() => this.#inFlight.delete(account.id));
      this.#inFlight.set(account.id, pending);
    }
    return pending;
  }

  /** One replica at a time asks the source about an account; the others wait for its verdict. */
  async #leased(source: AccountSource, account: Account): Promise<RecheckVerdict> {
    const owner = randomUUID();
    const ttl = this.#o.leaseSeconds ?? 30;
    const deadline = Date.now() + (this.#o.waitMs ?? 15_000);
    let awaited: string | undefined;
    for (;;) {
      // First the verdict of the lease we waited on: once released, the lease is free to take.
      if (awaited) {
        const answer = await this.#store.find(RECHECK_VERDICT, account.id);
        if (answer?.owner === awaited && isVerdict(answer.verdict)) return answer.verdict;
      }
      if (await this.#store.insert(RECHECK_LEASE, account.id, { owner }, ttl)) {
        let verdict: RecheckVerdict | undefined;
        try {
          // Another replica may have answered between our read of the account and the lease.
          verdict = (await this.#answeredSince(account)) ?? (await this.#ask(source, account));
          return verdict;
        } finally {
          // For the replicas waiting on this lease (they match the owner: no clocks compared).
          if (verdict) await this.#store.upsert(RECHECK_VERDICT, account.id, { owner, verdict }, ttl);
          const lease = await this.#store.find(RECHECK_LEASE, account.id);
          if (lease?.owner === owner) await this.#store.destroy(RECHECK_LEASE, account.id);
        }
      }
      const lease = await this.#store.find(RECHECK_LEASE, account.id);
      if (typeof lease?.owner === 'string' && lease.owner !== awaited) {
        if (!awaited) this.#o.logger?.debug({ event: 'account.recheck_wait', sub: account.id, connector: source.id }, `another replica is re-checking ${account.username}; waiting for its verdict`);
        awaited = lease.owner;
      }
      // A lease gone without a verdict (its holder stopped): the next round takes it.
      if (Date.now() >= deadline) return this.#unreachable(source, account, 'recheck_wait_timeout');
      await sleep(this.#o.pollMs ?? 100);
    }
  }

  /** The verdict another replica stored after `account` was read, if any. */
  async #answeredSince(account: Account): Promise<RecheckVerdict | undefined> {
    const fresh = await this.#accounts.findById(account.id);
    if (!fresh || (fresh.refusedBySource && !account.refusedBySource)) return 'refused';
    if ((fresh.checkedAt ?? 0) > (account.checkedAt ?? 0)) return 'active';
    return undefined;
  }

  async #state(account: Account, source: AccountSource): Promise<{ sealed?: string; state?: SourceState }> {
    const record = await this.#store.find(SOURCE_STATE, account.id);
    if (!record || record.connector !== source.id || typeof record.sealed !== 'string' || !this.#o.sealer) return {};
    const opened = this.#o.sealer.open(record.sealed);
    return { sealed: record.sealed, state: opened ? (JSON.parse(opened) as SourceState) : undefined };
  }

  async #question(source: AccountSource, account: Account, state: SourceState | undefined): Promise<RecheckResult> {
    try {
      const answer = await source.recheck(account, state);
      return typeof answer === 'string' ? { verdict: answer } : answer;
    } catch (err) {
      return { verdict: 'unreachable', reason: (err as Error).message };
    }
  }

  #unreachable(source: AccountSource, account: Account, reason: string | undefined): RecheckVerdict {
    const allow = this.#o.onUnreachable === 'allow';
    this.#o.logger?.warn({ event: 'account.recheck_unreachable', sub: account.id, username: account.username, connector: source.id, reason, decision: allow ? 'allow' : 'deny' }, `could not re-check ${account.username} with connector ${source.id}; refresh ${allow ? 'allowed' : 'refused for now'}`);
    return allow ? 'active' : 'unreachable';
  }

  async #ask(source: AccountSource, account: Account): Promise<RecheckVerdict> {
    const asked = await this.#state(account, source);
    let result = await this.#question(source, account, asked.state);
    if (result.verdict === 'refused' && asked.sealed) {
      // The state changed under the question (another replica, whose lease had run out, rotated the
      // upstream refresh token): the refusal may be the upstream seeing the old token again. Ask once
      // more with the new state rather than lock the person out.
      const now = await this.#state(account, source);
      if (now.sealed && now.sealed !== asked.sealed) {
        this.#o.logger?.info({ event: 'account.recheck_retry', sub: account.id, connector: source.id, reason: result.reason }, `connector state of ${account.username} changed during the re-check; asking again`);
        result = await this.#question(source, account, now.state);
      }
    }
    const fields = { sub: account.id, username: account.username, connector: source.id, reason: result.reason };
    if (result.verdict === 'active') {
      // Re-read: recheck may have refreshed the claims.
      const fresh = (await this.#accounts.findById(account.id)) ?? account;
      await this.#accounts.update(fresh, { checkedAt: this.#now() });
      if (result.state && this.#o.sealer) await this.remember(account, source.id, result.state);
      this.#o.logger?.info({ event: 'account.recheck', ...fields, verdict: 'active' }, `connector ${source.id} still vouches for ${account.username}`);
      return 'active';
    }
    if (result.verdict === 'unreachable') return this.#unreachable(source, account, result.reason);
    const fresh = (await this.#accounts.findById(account.id)) ?? account;
    await this.#accounts.update(fresh, { refusedBySource: { at: this.#now(), connector: source.id, reason: result.reason ?? 'refused' } });
    await this.#store.destroy(SOURCE_STATE, account.id);
    this.#o.audit?.record('account.source_refused', fields);
    return 'refused';
  }
}
