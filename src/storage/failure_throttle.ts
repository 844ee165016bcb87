import type { Store } from './adapter.ts';
import { RateLimiter } from './rate_limiter.ts';

/** A limit on failures for one kind of key (an IP, a username, or `*` for everyone). */
export interface FailureLimit {
  name: string;
  limit: number;
  windowSeconds: number;
}

/** Marker records: present while a key is locked out, so checking never counts as a failure. */
const LOCK = 'ThrottleLock';

/**
 * Counts failures (wrong passwords, wrong user codes) per key in store-backed fixed windows and
 * locks a key out once it passes its limit, until the window ends. Every replica sees the same
 * counts and locks.
 */
export class FailureThrottle {
  #store: Store;
  #limiters: RateLimiter[];

  constructor(store: Store, limits: FailureLimit[]) {
    this.#store = store;
    this.#limiters = limits.map((l) => new RateLimiter(store, l));
  }

  /** Seconds the caller must wait when any of `keys` (one per limit, in order) is locked; 0 otherwise. */
  async lockedFor(keys: string[]): Promise<number> {
    let wait = 0;
    for (const [i, limiter] of this.#limiters.entries()) {
      const key = keys[i];
      if (key === undefined) continue;
      const lock = await this.#store.find(LOCK, `${limiter.options.name}:${key}`);
      if (lock && typeof lock.until === 'number') wait = Math.max(wait, Math.ceil((lock.until - Date.now()) / 1000));
    }
    return Math.max(0, wait);
  }

  /** Counts one failure against every key; returns the wait when this failure used up a key's limit. */
  async fail(keys: string[]): Promise<number> {
    let wait = 0;
    for (const [i, limiter] of this.#limiters.entries()) {
      const key = keys[i];
      if (key === undefined) continue;
      const result = await limiter.hit(key);
      // Lock on reaching the limit, not after passing it: the next attempt must not even be looked at.
      if (result.count >= limiter.options.limit) {
        await this.#store.upsert(LOCK, `${limiter.options.name}:${key}`, { until: Date.now() + result.retryAfter * 1000 }, result.retryAfter);
        wait = Math.max(wait, result.retryAfter);
      }
    }
    return wait;
  }
}
