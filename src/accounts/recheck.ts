import type { Audit } from '../shared/audit.ts';
import type { Logger } from '../shared/logger.ts';
import type { Sealer } from '../shared/seal.ts';
import type { Store } from '../storage/adapter.ts';
import { type Account, Accounts } from './account.ts';

/** What a connector's source (an upstream IdP, a directory) says about a person asked again. */
export type RecheckOutcome = 'active' | 'refused' | 'unreachable';

/**
 * Whatever a connector keeps between checks (an upstream refresh token, a directory DN…). Stored
 * sealed (AES-256-GCM under a key derived from the cookie keys), never logged.
 */
export type SourceState = Record<string, string | number | boolean | undefined>;

export interface RecheckResult {
  outcome: RecheckOutcome;
  /** Replaces the stored state (e.g. a rotated upstream refresh token); omitted keeps it. */
  state?: SourceState;
  /** Short machine-readable why, for logs and the audit trail (e.g. `upstream_invalid_grant`, `upstream_group`). */
  reason?: string;
}

/**
 * A connector whose accounts are re-checked at refresh time: the offboarding hook. Implemented by
 * the OIDC connector (`UpstreamClient`) and meant for any other (LDAP…).
 *
 * `recheck(account, state)` asks the source whether the person behind `account` (its
 * `account.upstream` names the connector, issuer and subject) may still get tokens:
 * - `active`: yes; return `state` to replace what is stored (optional);
 * - `refused`: the source says no (user disabled or deleted, credentials revoked, no longer in a
 *   required group); Gatehouse then answers `invalid_grant`, revokes the grant and stops every
 *   token of the account until the person signs in through the connector again;
 * - `unreachable`: the source could not answer (network, timeout, 5xx, misconfiguration);
 *   `GATEHOUSE_UPSTREAM_RECHECK_UNREACHABLE` decides (deny by default: 503 `temporarily_unavailable`).
 * `state` is what the connector handed to `AccountRecheck.remember` at sign-in or returned from its
 * last recheck, or undefined. It must not throw for source trouble (a throw counts as `unreachable`)
 * and should answer within about 10 s, since a token request waits for it.
 */
export interface RecheckSource {
  /** The connector id, as in `account.upstream.connector`. */
  readonly id: string;
  recheck(account: Account, state: SourceState | undefined): Promise<RecheckResult>;
}

/** What a refresh may do after the check. */
export type RefreshVerdict = 'allow' | 'refused' | 'unavailable';

export interface AccountRecheckOptions {
  store: Store;
  sealer: Sealer;
  sources: RecheckSource[];
  /** Seconds a successful check stays good (GATEHOUSE_UPSTREAM_RECHECK_INTERVAL); 0 checks every refresh. */
  interval: number;
  /** GATEHOUSE_UPSTREAM_RECHECK_UNREACHABLE. */
  onUnreachable: 'deny' | 'allow';
  /** How long the stored state is kept without use (the refresh-token lifetime), seconds. */
  stateTtl: number;
  logger: Logger;
  audit: Audit;
}

/** Per federated account: connector, sealed state, time of the last successful check. */
export const SOURCE_STATE = 'SourceState';
/** One check at a time per account across replicas (an upstream refresh token rotates). */
const LEASE = 'SourceRecheckLease';
const LEASE_SECONDS = 30;

const now = () => Math.floor(Date.now() / 1000);

/**
 * Re-checks accounts that came from a connector when one of their refresh tokens is redeemed and
 * the last check is older than the interval. The provider calls `onRefresh` from `findAccount`.
 */
export class AccountRecheck {
  #o: AccountRecheckOptions;
  #sources: Map<string, RecheckSource>;
  #accounts: Accounts;
  #inFlight = new Map<string, Promise<RefreshVerdict>>();

  constructor(options: AccountRecheckOptions) {
    this.#o = options;
    this.#sources = new Map(options.sources.map((s) => [s.id, s]));
    this.#accounts = new Accounts(options.store);
  }

  /** Keeps what the connector needs for later checks, right after a sign-in through it (which counts as a check). */
  async remember(account: Account, connector: string, state: SourceState): Promise<void> {
    await this.#o.store.upsert(SOURCE_STATE, account.id, { connector, sealed: this.#o.sealer.seal(JSON.stringify(state)), checkedAt: now() }, this.#o.stateTtl);
  }

  /**
   * For a refresh_token grant of `account` under `grantId`: `allow` for local accounts and fresh
   * checks; otherwise asks the connector (one check at a time per account).
   */
  async onRefresh(account: Account, grantId: string | undefined): Promise<RefreshVerdict> {
    if (!account.upstream) return 'allow';
    const record = await this.#o.store.find(SOURCE_STATE, account.id);
    if (record && record.connector === account.upstream.connector && now() - Number(record.checkedAt) < this.#o.interval) return 'allow';
    let pending = this.#inFlight.get(account.id);
    if (!pending) {
      pending = this.#check(account, grantId).finally(() => this.#inFlight.delete(account.id));
      this.#inFlight.set(account.id, pending);
    }
    return pending;
  }

  async #check(account: Account, grantId: string | undefined): Promise<RefreshVerdict> {
    const started = now();
    if (!(await this.#o.store.insert(LEASE, account.id, { at: started }, LEASE_SECONDS))) return this.#awaitOtherCheck(account, started);
    try {
      return await this.#run(account, grantId);
    } finally {
      await this.#o.store.destroy(LEASE, account.id);
    }
  }

  /** Another replica is checking this account: wait for its result (within the lease). */
  async #awaitOtherCheck(account: Account, started: number): Promise<RefreshVerdict> {
    const deadline = Date.now() + LEASE_SECONDS * 1000;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const fresh = await this.#accounts.findById(account.id);
      if (!fresh || fresh.disabled || fresh.refusedBySource) return 'refused';
      const record = await this.#o.store.find(SOURCE_STATE, account.id);
      if (record && Number(record.checkedAt) >= started) return 'allow';
      if (!(await this.#o.store.find(LEASE, account.id))) break;
    }
    return this.#unreachable(account, 'another check did not finish');
  }

  async #run(account: Account, grantId: string | undefined): Promise<RefreshVerdict> {
    const upstream = account.upstream!;
    const source = this.#sources.get(upstream.connector);
    const record = await this.#o.store.find(SOURCE_STATE, account.id);
    let state: SourceState | undefined;
    if (record && record.connector === upstream.connector && typeof record.sealed === 'string') {
      const opened = this.#o.sealer.open(record.sealed);
      state = opened ? (JSON.parse(opened) as SourceState) : undefined;
    }
    let result: RecheckResult;
    if (!source) result = { outcome: 'refused', reason: 'connector_removed' };
    else {
      try {
        result = await source.recheck(account, state);
      } catch (err) {
        result = { outcome: 'unreachable', reason: (err as Error).message };
      }
    }
    const fields = { sub: account.id, username: account.username, connector: upstream.connector, reason: result.reason };
    if (result.outcome === 'active') {
      await this.#o.store.upsert(SOURCE_STATE, account.id, { connector: upstream.connector, sealed: this.#o.sealer.seal(JSON.stringify(result.state ?? state ?? {})), checkedAt: now() }, this.#o.stateTtl);
      this.#o.logger.info({ event: 'upstream.recheck', ...fields, outcome: 'active' }, `connector ${upstream.connector} still knows ${account.username}`);
      return 'allow';
    }
    if (result.outcome === 'unreachable') return this.#unreachable(account, result.reason);
    // Refused: this grant goes now; every other token of the account stops until a new sign-in.
    await this.#accounts.update(account, { refusedBySource: { at: now(), connector: upstream.connector, reason: result.reason ?? 'refused' } });
    if (grantId) await this.#o.store.revokeByGrantId(grantId);
    await this.#o.store.destroy(SOURCE_STATE, account.id);
    this.#o.audit.record('account.source_refused', fields);
    return 'refused';
  }

  #unreachable(account: Account, reason: string | undefined): RefreshVerdict {
    const allow = this.#o.onUnreachable === 'allow';
    this.#o.logger.warn(
      { event: 'upstream.recheck_unreachable', sub: account.id, connector: account.upstream?.connector, reason, decision: allow ? 'allow' : 'deny' },
      `could not re-check ${account.username} with connector ${account.upstream?.connector}; refresh ${allow ? 'allowed' : 'refused for now'} (GATEHOUSE_UPSTREAM_RECHECK_UNREACHABLE=${this.#o.onUnreachable})`,
    );
    return allow ? 'allow' : 'unavailable';
  }
}
