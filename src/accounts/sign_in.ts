import type { Store } from '../storage/adapter.ts';
import { FailureThrottle } from '../storage/failure_throttle.ts';
import { type Account, Accounts, canonicalUsername } from './account.ts';
import { burnPasswordCheck, hashPassword, matchPassword } from './password.ts';
import { matchTotp } from './totp.ts';

export interface SignInOptions {
  failuresPerAccount: number;
  failuresPerIp: number;
  windowSeconds: number;
}

/** Outcome of one sign-in step. `retryAfter` is set when the caller is throttled (429). */
export type SignInResult = { ok: true; account: Account } | { ok: false; retryAfter?: number };

/** Used TOTP steps are remembered a little longer than the ±1 step they are accepted for. */
const USED_STEP_SECONDS = 120;

/**
 * Password and TOTP checks with failure throttling per username and per client IP. A missing
 * account, a disabled one and a wrong password look the same from outside: same answer, same work.
 */
export class SignIn {
  #accounts: Accounts;
  #store: Store;
  #throttle: FailureThrottle;

  constructor(store: Store, options: SignInOptions) {
    this.#store = store;
    this.#accounts = new Accounts(store);
    this.#throttle = new FailureThrottle(store, [
      { name: 'login:account', limit: options.failuresPerAccount, windowSeconds: options.windowSeconds },
      { name: 'login:ip', limit: options.failuresPerIp, windowSeconds: options.windowSeconds },
    ]);
  }

  async password(username: string, password: string, ip: string): Promise<SignInResult> {
    const keys = [canonicalUsername(username).slice(0, 128), ip];
    const locked = await this.#throttle.lockedFor(keys);
    if (locked > 0) return { ok: false, retryAfter: locked };
    const account = username && password.length <= 1024 ? await this.#accounts.findByUsername(username) : undefined;
    let ok = false;
    // Upstream accounts have no password here: they sign in at their own provider only.
    if (account?.upstream) await burnPasswordCheck(password.slice(0, 1024));
    else if (account) {
      const match = await matchPassword(password, account.passwordHash);
      ok = match.ok && !account.disabled;
      // A hash from before passwords were normalised (RFC 8265): replace it now that we have the text.
      if (ok && match.upgrade) await this.#accounts.update(account, { passwordHash: await hashPassword(password) });
    } else await burnPasswordCheck(password.slice(0, 1024));
    if (ok && account) return { ok: true, account };
    return this.#failed(keys);
  }

  /**
   * A password checked elsewhere (a company directory) under the same throttles as local ones:
   * per `<connector>:<username>` and per client IP. `wrong` says whether the outcome was a wrong
   * password, which is counted; errors (the directory down) count nothing and propagate.
   */
  async external<T>(connector: string, username: string, ip: string, check: () => Promise<T>, wrong: (outcome: T) => boolean): Promise<{ throttled: number } | { outcome: T }> {
    const keys = [`${connector}:${canonicalUsername(username).slice(0, 128)}`, ip];
    const locked = await this.#throttle.lockedFor(keys);
    if (locked > 0) return { throttled: locked };
    const outcome = await check();
    if (!wrong(outcome)) return { outcome };
    const wait = await this.#throttle.fail(keys);
    return wait > 0 ? { throttled: wait } : { outcome };
  }

  /** Second step: a TOTP code for an account that passed the password step. A code works once. */
  async totp(accountId: string, code: string, ip: string): Promise<SignInResult> {
    const account = await this.#accounts.findById(accountId);
    if (!account || account.disabled || !account.totpSecret) return { ok: false };
    const keys = [account.username, ip];
    const locked = await this.#throttle.lockedFor(keys);
    if (locked > 0) return { ok: false, retryAfter: locked };
    const step = matchTotp(account.totpSecret, code);
    if (step !== undefined && (await this.#store.insert('TotpUsedStep', `${account.id}:${step}`, { step }, USED_STEP_SECONDS))) {
      return { ok: true, account };
    }
    return this.#failed(keys);
  }

  async #failed(keys: string[]): Promise<SignInResult> {
    const wait = await this.#throttle.fail(keys);
    return wait > 0 ? { ok: false, retryAfter: wait } : { ok: false };
  }
}
