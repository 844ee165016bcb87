import type { Store } from '../storage/adapter.ts';
import { type Account, Accounts } from './account.ts';

/**
 * What an account's source says when asked again on a refresh (RFC 6749 §6):
 * - `active`: the person may still use it (their claims may have been refreshed);
 * - `refused`: disabled or deleted at the source — the refresh fails with `invalid_grant` and
 *   the grant's tokens are revoked;
 * - `unreachable`: the source did not answer — the refresh fails closed with 503
 *   `temporarily_unavailable`, so the client keeps its refresh token and retries later.
 */
export type RecheckVerdict = 'active' | 'refused' | 'unreachable';

/**
 * A connector that can vouch again for the accounts it created. This is the per-connector method
 * of the generic refresh re-check (issue 18 builds the same hook for upstream OpenID Connect
 * providers): one `recheck` per source, one place that calls it.
 */
export interface AccountSource {
  /** The connector id, as in `Account.upstream.connector`. */
  readonly id: string;
  /** How old (seconds) the last check may be before a refresh asks the source again. */
  readonly maxStalenessSeconds: number;
  /** Asks the source about this account; may update the stored claims when `active`. */
  recheck(account: Account): Promise<RecheckVerdict>;
}

/**
 * The refresh-time re-check: for an account from a source that can be asked again, asks it when
 * the last answer is older than the source's staleness bound, and remembers when it said yes.
 * Accounts without such a source (local ones, connectors without `recheck`) are `active` here;
 * their `disabled` flag is checked by `findAccount` as before.
 */
export class AccountRecheck {
  #sources: Map<string, AccountSource>;
  #accounts: Accounts;
  #now: () => number;

  constructor(store: Store, sources: AccountSource[], now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.#sources = new Map(sources.map((s) => [s.id, s]));
    this.#accounts = new Accounts(store);
    this.#now = now;
  }

  /** Whether any source takes part (so `findAccount` can skip the work otherwise). */
  get empty(): boolean {
    return this.#sources.size === 0;
  }

  async onRefresh(account: Account): Promise<RecheckVerdict> {
    const source = account.upstream ? this.#sources.get(account.upstream.connector) : undefined;
    if (!source || !account.upstream) return 'active';
    const checkedAt = account.checkedAt ?? 0;
    if (this.#now() - checkedAt < source.maxStalenessSeconds) return 'active';
    const verdict = await source.recheck(account);
    if (verdict === 'active') {
      // Re-read: recheck may have refreshed the claims.
      const fresh = (await this.#accounts.findById(account.id)) ?? account;
      await this.#accounts.update(fresh, { checkedAt: this.#now() });
    }
    return verdict;
  }
}
