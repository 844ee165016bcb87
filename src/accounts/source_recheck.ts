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
}

/** Per account from a connector that keeps state: connector id and the sealed state. */
export const SOURCE_STATE = 'SourceState';

/**
 * The refresh-time re-check: for an account from a source that can be asked again, asks it when
 * the last answer (or sign-in: `Account.checkedAt`) is older than the source's staleness bound,
 * and remembers when it said yes. Concurrent refreshes of one account share one question (an
 * upstream refresh token rotates). Accounts without such a source (local ones, connectors without
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
      pending = this.#ask(source, account).finally(() => this.#inFlight.delete(account.id));
      this.#inFlight.set(account.id, pending);
    }
    return pending;
  }

  async #state(account: Account, source: AccountSource): Promise<SourceState | undefined> {
    const record = await this.#store.find(SOURCE_STATE, account.id);
    if (!record || record.connector !== source.id || typeof record.sealed !== 'string' || !this.#o.sealer) return undefined;
    const opened = this.#o.sealer.open(record.sealed);
    return opened ? (JSON.parse(opened) as SourceState) : undefined;
  }

  async #ask(source: AccountSource, account: Account): Promise<RecheckVerdict> {
    let result: RecheckResult;
    try {
      const answer = await source.recheck(account, await this.#state(account, source));
      result = typeof answer === 'string' ? { verdict: answer } : answer;
    } catch (err) {
      result = { verdict: 'unreachable', reason: (err as Error).message };
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
    if (result.verdict === 'unreachable') {
      const allow = this.#o.onUnreachable === 'allow';
      this.#o.logger?.warn({ event: 'account.recheck_unreachable', ...fields, decision: allow ? 'allow' : 'deny' }, `could not re-check ${account.username} with connector ${source.id}; refresh ${allow ? 'allowed' : 'refused for now'}`);
      return allow ? 'active' : 'unreachable';
    }
    const fresh = (await this.#accounts.findById(account.id)) ?? account;
    await this.#accounts.update(fresh, { refusedBySource: { at: this.#now(), connector: source.id, reason: result.reason ?? 'refused' } });
    await this.#store.destroy(SOURCE_STATE, account.id);
    this.#o.audit?.record('account.source_refused', fields);
    return 'refused';
  }
}
