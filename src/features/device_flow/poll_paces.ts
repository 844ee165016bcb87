import { hash } from 'node:crypto';
import { externalVersionReader, type Store } from '../../storage/adapter.ts';

/** The `DevicePoll` record of one device code, as stored (keyed by a hash of the code). */
export interface StoredPace {
  clientId: string;
  /** Seconds the client must wait between polls (grows by 5 on every slow_down). */
  interval: number;
  /** Epoch ms when the device code expires; the record goes with it. */
  expiresAt: number;
  /** Epoch ms of the latest poll while pending that reached the store (absent before the first). */
  lastPoll?: number | null;
  [key: string]: unknown;
}

/** One device code's pace as this replica knows it. */
interface Pace {
  /** The code's record id in the store. */
  key: string;
  clientId: string;
  interval: number;
  expiresAt: number;
  /** The latest poll known here: this replica's own, or another replica's as of the last read. */
  lastPoll: number | null;
  /** When this replica last read the code's record (epoch ms), and the store's `externalVersion` then. */
  readAt: number;
  version: number | undefined;
  /** Changed here since the last flush. */
  dirty: boolean;
}

/** What `poll` decided: the code's interval before this poll, and whether the poll came too soon. */
export interface PollPace {
  /** Seconds the client had to wait before this poll. */
  interval: number;
  /** True: answer slow_down; the interval is now `interval + 5`. */
  tooSoon: boolean;
}

export const PACE_MODEL = 'DevicePoll';

/**
 * The `DevicePoll` record id of a device code: its SHA-256 (base64url). Device codes are bearer
 * secrets; the store never holds one as a pace key (memory does, as it does the code itself).
 */
export const paceKey = (deviceCode: string) => hash('sha256', deviceCode, 'base64url');

/** How stale this replica's reading of the store's `externalVersion` may be (ms): another process's commit shows within it. */
const VERSION_CHECK_MS = 50;

/**
 * How much sooner than its interval a poll may arrive and still count as on time (ms): 2% of the
 * interval (100 ms at 5 s), at most 250 ms. A client that waits exactly `interval` seconds after
 * an answer still arrives a few ms early now and then (a timer started on a cached loop clock), and
 * a fixed-rate poller sees the server's queueing jitter; slow_down is for clients polling faster,
 * not for those.
 */
export const pollTolerance = (intervalSeconds: number) => Math.min(250, intervalSeconds * 20);

export interface PollPacesOptions {
  /**
   * Milliseconds between flushes of this replica's polls to the store, and how old this replica's
   * view of a code may be before a poll reads the store again on a store that cannot say whether
   * another process wrote (MongoDB). Default 1000.
   */
  syncMs?: number;
  /** Device codes held in memory at most; the oldest is forgotten (and read again if it polls). Default 100,000. */
  maxCodes?: number;
  /** Current time in epoch milliseconds; tests inject a clock. Default `Date.now`. */
  now?: () => number;
}

/**
 * The polling pace of every pending device code (RFC 8628 §3.5), kept in this replica's memory with
 * no store write on the request path, and shared with the other replicas through the store's
 * `DevicePoll` records off that path:
 * - `start` records a new code's pace (in memory and in the store, once per device authorization);
 * - `poll` judges a poll against the latest poll known for the code and records it in memory. It
 *   reads the code's record only when this replica has none, or when its copy may be stale: on
 *   SQLite when another process has committed to the file since (`externalVersion`, asked at most
 *   every 50 ms), on MongoDB when it was read more than `syncMs` ago;
 * - every `syncMs` the codes polled here since the last flush are written to the store with one
 *   `exchange` each (batched into one SQLite transaction), which also returns what another replica
 *   wrote in between; the larger interval and the later poll win.
 *
 * So one replica paces exactly, and with N replicas a poll sees every earlier poll of its code
 * that reached another replica at least `syncMs` + `syncMs` ago (its flush, then this replica's
 * read): slow_down can only come later than it would with one replica, never for a client that
 * kept its interval. A store that cannot be reached only stops the sharing: each replica paces
 * the codes it has seen, and flushes once the store answers again.
 */
export class PollPaces {
  #store: Store;
  #paces = new Map<string, Pace>();
  #syncMs: number;
  #maxCodes: number;
  #now: () => number;
  #timer: NodeJS.Timeout;
  #flushing: Promise<void> | undefined;
  /** The store's `externalVersion`, asked at most every `VERSION_CHECK_MS`. */
  #externalVersion: () => number | undefined;

  constructor(store: Store, options: PollPacesOptions = {}) {
    this.#store = store;
    this.#syncMs = options.syncMs ?? 1000;
    this.#maxCodes = options.maxCodes ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#externalVersion = externalVersionReader(store, VERSION_CHECK_MS, this.#now);
    this.#timer = setInterval(() => void this.flush(), this.#syncMs).unref();
  }

  /**
   * Records a new device code's pace: `interval` seconds, no poll yet, until `expiresAt` (epoch
   * ms). Written to the store at once (the code may be polled on another replica next).
   * @param deviceCode the device code (kept in memory; the store's record is keyed by `paceKey`)
   * @param ttlSeconds the device code's lifetime; the record expires with it
   * @throws StoreUnavailableError when the store cannot take it
   */
  async start(deviceCode: string, pace: { clientId: string; interval: number; expiresAt: number }, ttlSeconds: number): Promise<void> {
    const key = paceKey(deviceCode);
    const version = this.#externalVersion();
    await this.#store.upsert(PACE_MODEL, key, { ...pace } satisfies StoredPace, ttlSeconds);
    this.#remember(deviceCode, { key, ...pace, lastPoll: null, readAt: this.#now(), version, dirty: false });
  }

  /**
   * Judges one poll of a pending code by `clientId`, arrived at `at` (epoch ms), and records it:
   * too soon when it came less than the code's interval (less `pollTolerance`) after the latest
   * poll known, and then the interval grows by 5 s. A poll more than one interval earlier than the
   * latest poll known (this host's clock set back, or another replica's clock ahead) is not too
   * soon: pacing goes on from its time. Undefined when the code has no pace record
   * (not started here or expired) or belongs to another client: such a poll moves nothing.
   * @throws StoreUnavailableError when this replica has no copy of the code's pace and the store
   *   cannot answer (with a copy, the copy is used)
   */
  async poll(deviceCode: string, clientId: string, at: number): Promise<PollPace | undefined> {
    let pace = this.#paces.get(deviceCode);
    if (!pace) pace = await this.#read(deviceCode, at);
    else if (!this.#current(pace, at)) {
      // The store down: pace on this replica's copy rather than fail the poll.
      pace = await this.#read(deviceCode, at).catch(() => pace);
    }
    if (!pace || pace.clientId !== clientId) return undefined;
    const interval = pace.interval;
    const lastPoll = pace.lastPoll;
    // Earlier than the latest poll known by more than one interval: no two polls of one client are
    // that far out of order, so a clock went back (this host's, or another replica's runs ahead).
    // How long the client waited cannot be told; it is not too soon, and pacing goes on from here.
    const clockWentBack = lastPoll !== null && lastPoll - at > interval * 1000;
    const tooSoon = lastPoll !== null && !clockWentBack && at - lastPoll < interval * 1000 - pollTolerance(interval);
    pace.lastPoll = clockWentBack || lastPoll === null ? at : Math.max(lastPoll, at);
    if (tooSoon) pace.interval = interval + 5;
    pace.dirty = true;
    return { interval, tooSoon };
  }

  /**
   * Writes the codes polled here since the last flush to the store and learns what other replicas
   * wrote; forgets expired codes and codes whose record is gone. Runs on a timer; tests and
   * shutdown call it directly. Never throws: a failed write is tried again at the next flush.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  /** Flushes and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  /** Paces held in memory (for tests and metrics). */
  get size(): number {
    return this.#paces.size;
  }

  #current(pace: Pace, at: number): boolean {
    if (pace.version !== undefined) return this.#externalVersion() === pace.version;
    return at - pace.readAt < this.#syncMs;
  }

  async #read(deviceCode: string, at: number): Promise<Pace | undefined> {
    const key = this.#paces.get(deviceCode)?.key ?? paceKey(deviceCode);
    // The version before the read: a commit by another process after it shows at the next poll.
    const version = this.#externalVersion();
    const stored = (await this.#store.find(PACE_MODEL, key)) as StoredPace | undefined;
    const mine = this.#paces.get(deviceCode); // a concurrent poll may have added or moved it meanwhile
    if (!stored) {
      if (mine) this.#paces.delete(deviceCode);
      return undefined;
    }
    if (!mine) return this.#remember(deviceCode, { key, clientId: stored.clientId, interval: stored.interval, expiresAt: stored.expiresAt, lastPoll: plausibleLastPoll(stored, at) ?? null, readAt: at, version, dirty: false });
    merge(mine, stored, at);
    mine.readAt = at;
    mine.version = version;
    return mine;
  }

  #remember(deviceCode: string, pace: Pace): Pace {
    if (!this.#paces.has(deviceCode) && this.#paces.size >= this.#maxCodes) {
      // The oldest code goes (Map order is insertion order); if it polls again it is read back.
      this.#paces.delete(this.#paces.keys().next().value!);
    }
    this.#paces.set(deviceCode, pace);
    return pace;
  }

  async #flush(): Promise<void> {
    const now = this.#now();
    const writes: Array<Promise<void>> = [];
    for (const [deviceCode, pace] of this.#paces) {
      if (pace.expiresAt <= now) {
        this.#paces.delete(deviceCode);
        continue;
      }
      if (!pace.dirty) continue;
      pace.dirty = false;
      const sent = { lastPoll: pace.lastPoll, interval: pace.interval };
      writes.push(
        this.#store.exchange(PACE_MODEL, pace.key, sent).then(
          (before) => {
            if (!before) {
              // Expired or removed in the store (the code is gone): nothing left to pace.
              if (this.#paces.get(deviceCode) === pace) this.#paces.delete(deviceCode);
              return;
            }
            // Another replica wrote a later poll or a longer interval since this one's read: keep the
            // larger values here, and write them back at the next flush.
            if (merge(pace, before as StoredPace, now)) pace.dirty = true;
          },
          () => {
            pace.dirty = true;
          },
        ),
      );
    }
    await Promise.all(writes);
  }
}

/**
 * The stored latest poll, unless it lies more than one interval after `now` (epoch ms): then a
 * clock went back (this host's, or the writer's runs ahead) and it is no measure of the client's
 * pace here — as in `poll`, pacing goes on from this replica's time.
 */
function plausibleLastPoll(stored: StoredPace, now: number): number | undefined {
  if (typeof stored.lastPoll !== 'number') return undefined;
  return stored.lastPoll - now > stored.interval * 1000 ? undefined : stored.lastPoll;
}

/**
 * Takes the later poll (if plausible at `now`, epoch ms) and the longer interval of `stored` into
 * `pace`; true when either was larger there.
 */
function merge(pace: Pace, stored: StoredPace, now: number): boolean {
  let changed = false;
  const storedPoll = plausibleLastPoll(stored, now);
  if (storedPoll !== undefined && (pace.lastPoll === null || storedPoll > pace.lastPoll)) {
    pace.lastPoll = storedPoll;
    changed = true;
  }
  if (typeof stored.interval === 'number' && stored.interval > pace.interval) {
    pace.interval = stored.interval;
    changed = true;
  }
  return changed;
}
