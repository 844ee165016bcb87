import type { Store } from './adapter.ts';
import type { RateLimitOptions, RateLimitResult } from './rate_limiter.ts';

export interface ReplicaRateLimitOptions extends RateLimitOptions {
  /** Milliseconds between flushes of this replica's counts to the store (default 1000). */
  flushIntervalMs?: number;
  /** Keys kept per window before new keys are counted under one overflow key (default 100,000). */
  maxKeys?: number;
  /** Told after each flush that sent counts: the error when it failed (counting goes on locally), else undefined. */
  onFlushResult?: (err: unknown) => void;
}

interface Entry {
  /** This replica's events in its own window for the key. */
  local: number;
  /** When this replica's window for the key ends (epoch ms). */
  resetAt: number;
  /** Events counted here and not yet added to the store. */
  pending: number;
  /** What the other replicas had counted in the store's window, as of the last flush. */
  others: number;
  /** What this replica has added to the store's current window, and that window's end. */
  sent: number;
  storeResetAt: number;
}

/** Store increments a flush has in flight at most. */
const FLUSH_CONCURRENCY = 32;

/** Key that new keys share once `maxKeys` are held, so memory stays bounded under a key flood. */
const OVERFLOW = '\u0000overflow';

/**
 * A fixed-window rate limit counted in this process, with no store round trip on the request
 * path, and shared with other replicas through the store off that path:
 * - `hit` counts the event locally and answers at once from the local count plus what the other
 *   replicas had counted for the key at the last flush;
 * - every `flushIntervalMs` the events counted since the last flush are added to the store's
 *   counter for the key in one `increment` (by the delta), which returns the total of every
 *   replica; the difference with what this replica sent is the others' count.
 *
 * With one replica the limit is exact. With N replicas each replica refuses once its own count
 * plus the others' counts seen at most one flush interval ago pass the limit; so, cluster-wide, a
 * key gets at most the limit plus what the other replicas admit for it within one flush interval.
 * A store that cannot be reached only stops the sharing: each replica keeps enforcing the limit
 * on its own counts, and the pending counts are added once the store answers again.
 */
export class ReplicaRateLimiter {
  readonly options: RateLimitOptions;
  #store: Store;
  #entries = new Map<string, Entry>();
  #timer: NodeJS.Timeout;
  #maxKeys: number;
  #flushing: Promise<void> | undefined;
  #onFlushResult: (err: unknown) => void;

  constructor(store: Store, options: ReplicaRateLimitOptions) {
    this.#store = store;
    this.options = { name: options.name, limit: options.limit, windowSeconds: options.windowSeconds };
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#onFlushResult = options.onFlushResult ?? (() => {});
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000).unref();
  }

  /** Counts one event for `key` and says whether it is within the limit. Synchronous: no I/O. */
  hit(key: string, now = Date.now()): RateLimitResult {
    let entry = this.#entries.get(key);
    if (!entry && this.#entries.size >= this.#maxKeys) {
      key = OVERFLOW;
      entry = this.#entries.get(key);
    }
    if (!entry) {
      entry = { local: 0, resetAt: now + this.options.windowSeconds * 1000, pending: 0, others: 0, sent: 0, storeResetAt: 0 };
      this.#entries.set(key, entry);
    } else if (entry.resetAt <= now || entry.resetAt - now > this.options.windowSeconds * 1000) {
      // Over, or longer than a window can be: the clock was set back since it started.
      entry.local = 0;
      entry.resetAt = now + this.options.windowSeconds * 1000;
      if (entry.storeResetAt <= now || entry.storeResetAt > entry.resetAt) entry.others = 0;
    }
    entry.local += 1;
    entry.pending += 1;
    const count = entry.local + entry.others;
    return { allowed: count <= this.options.limit, count, retryAfter: Math.max(1, Math.ceil((entry.resetAt - now) / 1000)) };
  }

  /**
   * Adds the counts of every key hit since the last flush to the store and refreshes the others'
   * counts; drops keys whose windows have ended here and in the store. Runs on a timer; tests and
   * shutdown call it directly. Never throws.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    const now = Date.now();
    const due: Array<{ key: string; entry: Entry; delta: number }> = [];
    for (const [key, entry] of this.#entries) {
      if (entry.pending === 0) {
        if (entry.resetAt <= now && entry.storeResetAt <= now) this.#entries.delete(key);
        continue;
      }
      due.push({ key, entry, delta: entry.pending });
      entry.pending = 0;
    }
    // Sent together, FLUSH_CONCURRENCY at a time (one group commit on SQLite, concurrent round
    // trips on MongoDB, well inside the driver's pool of 100 connections that token requests share):
    // one at a time, a thousand keys would take a thousand round trips and the others' counts would
    // be older than one flush interval.
    for (let i = 0; i < due.length; i += FLUSH_CONCURRENCY) {
      const chunk = due.slice(i, i + FLUSH_CONCURRENCY);
      const results = await Promise.allSettled(chunk.map(({ key, delta }) => this.#store.increment(`${this.options.name}:${key}`, this.options.windowSeconds, delta)));
      let failure: { err: unknown } | undefined;
      results.forEach((result, j) => {
        const { entry, delta } = chunk[j]!;
        if (result.status === 'rejected') {
          entry.pending += delta;
          failure ??= { err: result.reason };
          return;
        }
        const { count, resetAt } = result.value;
        if (resetAt !== entry.storeResetAt) {
          entry.storeResetAt = resetAt;
          entry.sent = 0;
        }
        entry.sent += delta;
        entry.others = Math.max(0, count - entry.sent);
      });
      if (failure) {
        // The store is down: the rest waits too, and every key is tried again at the next tick.
        for (const { entry, delta } of due.slice(i + FLUSH_CONCURRENCY)) entry.pending += delta;
        this.#onFlushResult(failure.err);
        return;
      }
    }
    if (due.length > 0) this.#onFlushResult(undefined);
  }

  /** Flushes what is pending and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
