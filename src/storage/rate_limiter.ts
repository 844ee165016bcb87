import type { Store } from './adapter.ts';

export interface RateLimitOptions {
  /** Namespace for the counters, e.g. `user_code:ip`. */
  name: string;
  /** Events allowed per window. */
  limit: number;
  windowSeconds: number;
}

export interface RateLimitResult {
  allowed: boolean;
  count: number;
  /** Seconds until the window resets (for Retry-After). */
  retryAfter: number;
}

/**
 * Fixed-window counters kept in the store, so every replica sees the same counts.
 * `hit` counts an event and says whether it is still within the limit.
 */
export class RateLimiter {
  readonly options: RateLimitOptions;
  #store: Store;

  constructor(store: Store, options: RateLimitOptions) {
    this.#store = store;
    this.options = options;
  }

  async hit(key: string): Promise<RateLimitResult> {
    const { count, resetAt } = await this.#store.increment(`${this.options.name}:${key}`, this.options.windowSeconds);
    return {
      allowed: count <= this.options.limit,
      count,
      retryAfter: Math.max(1, Math.ceil((resetAt - Date.now()) / 1000)),
    };
  }
}
